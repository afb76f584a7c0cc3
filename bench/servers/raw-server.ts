// The floor for driverkit's own overhead: the same service, the same ts-proto codecs, the
// same unix socket transport, plain grpc-js and nothing of driverkit's runtime.
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  GetUserRequest,
  GetUserResponse,
} from '../../src/gen/driverkit/userprovider/v1/userprovider.js';

const server = new Server({
  'grpc.max_receive_message_length': 16 << 20,
  'grpc.max_send_message_length': 16 << 20,
});
// What a plain grpc-js service looks like: ts-proto's encode/decode, full messages.
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
server.bindAsync(`unix:${process.argv[2]}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
