// The echo service of the plain grpc-js servers (raw-server.ts, raw-tls-server.ts): what a
// plain grpc-js service looks like, ts-proto's encode/decode, full messages.
import type { Server, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import {
  GetUserRequest,
  GetUserResponse,
} from '../../src/gen/driverkit/userprovider/v1/userprovider.js';

/** Adds UserProvider's GetUser, echoing the id back as the username. */
export function addEchoService(server: Server): void {
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
}
