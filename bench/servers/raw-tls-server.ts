// The floor for a remote call: a plain grpc-js server over TCP with mTLS, the same service
// and codecs as raw-server.ts. Args: HOST:PORT CERT KEY CA (PEM files).
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  GetUserRequest,
  GetUserResponse,
} from '../../src/gen/driverkit/userprovider/v1/userprovider.js';

const [address, cert, key, ca] = process.argv.slice(2);
const server = new Server();
server.addService(
  {
    getUser: {
      path: '/driverkit.userprovider.v1.UserProvider/GetUser',
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: GetUserRequest) => Buffer.from(GetUserRequest.encode(v).finish()),
      requestDeserialize: (b: Buffer) => GetUserRequest.decode(b),
      responseSerialize: (v: GetUserResponse) => Buffer.from(GetUserResponse.encode(v).finish()),
      responseDeserialize: (b: Buffer) => GetUserResponse.decode(b),
    },
  },
  {
    getUser: (
      call: ServerUnaryCall<GetUserRequest, GetUserResponse>,
      cb: sendUnaryData<GetUserResponse>,
    ) =>
      cb(
        null,
        GetUserResponse.fromPartial({
          user: { id: call.request.userId, username: call.request.userId?.opaqueId ?? '' },
        }),
      ),
  },
);
const credentials = ServerCredentials.createSsl(
  readFileSync(ca),
  [{ cert_chain: readFileSync(cert), private_key: readFileSync(key) }],
  true,
);
server.bindAsync(address, credentials, (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
