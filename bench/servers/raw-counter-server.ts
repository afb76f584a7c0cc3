// The floor for the streaming rows: Count and Echo of the "counter" type on a plain grpc-js
// Server, with ts-proto's encode/decode and nothing of driverkit's runtime.
import {
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { CountRequest, Tick } from '../../test/fixtures/gen/counter/v1/counter.js';
import { MESSAGE_LIMIT_OPTIONS } from '../../src/protocol/limits.js';

const tick = {
  serialize: (v: Tick) => Buffer.from(Tick.encode(v).finish()),
  deserialize: (b: Buffer) => Tick.decode(b),
};

/** Writes n ticks as grpc-js users do: one write each, waiting for 'drain' when it says so. */
async function count(call: ServerWritableStream<CountRequest, Tick>): Promise<void> {
  const { n, size } = call.request;
  const payload = Buffer.alloc(size, 120);
  for (let i = 0; i < n && !call.cancelled; i++) {
    if (!call.write({ i, payload })) await new Promise((resolve) => call.once('drain', resolve));
  }
  call.end();
}

function echo(call: ServerDuplexStream<Tick, Tick>): void {
  call.on('data', (t: Tick) => call.write(t));
  call.on('end', () => call.end());
}

const server = new Server(MESSAGE_LIMIT_OPTIONS);
server.addService(
  {
    count: {
      path: '/counter.v1.Counter/Count',
      requestStream: false,
      responseStream: true,
      requestSerialize: (v: CountRequest) => Buffer.from(CountRequest.encode(v).finish()),
      requestDeserialize: (b: Buffer) => CountRequest.decode(b),
      responseSerialize: tick.serialize,
      responseDeserialize: tick.deserialize,
    },
    echo: {
      path: '/counter.v1.Counter/Echo',
      requestStream: true,
      responseStream: true,
      requestSerialize: tick.serialize,
      requestDeserialize: tick.deserialize,
      responseSerialize: tick.serialize,
      responseDeserialize: tick.deserialize,
    },
  },
  { count: (call: ServerWritableStream<CountRequest, Tick>) => void count(call), echo },
);
server.bindAsync(`unix:${process.argv[2]}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
