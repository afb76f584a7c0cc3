// The floor under gRPC: node:http2 request/response on a unix socket, echoing the body.
import { createServer } from 'node:http2';

const server = createServer();
server.on('stream', (stream) => {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
    stream.end(Buffer.concat(chunks));
  });
});
server.listen(process.argv[2], () => process.stdout.write('ready\n'));
