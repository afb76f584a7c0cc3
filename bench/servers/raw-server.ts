// The floor for driverkit's own overhead: the same service, the same ts-proto codecs, the
// same unix socket transport, plain grpc-js and nothing of driverkit's runtime.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { addEchoService } from './raw-echo-service.js';

const server = new Server({
  'grpc.max_receive_message_length': 16 << 20,
  'grpc.max_send_message_length': 16 << 20,
});
addEchoService(server);
server.bindAsync(`unix:${process.argv[2]}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
