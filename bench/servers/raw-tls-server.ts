// The floor for a remote call: a plain grpc-js server over TCP with mTLS, the same service
// and codecs as raw-server.ts. Args: HOST:PORT CERT KEY CA (PEM files).
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { addEchoService } from './raw-echo-service.js';

const [address, cert, key, ca] = process.argv.slice(2);
const server = new Server();
addEchoService(server);
const credentials = ServerCredentials.createSsl(
  readFileSync(ca),
  [{ cert_chain: readFileSync(cert), private_key: readFileSync(key) }],
  true,
);
server.bindAsync(address, credentials, (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
