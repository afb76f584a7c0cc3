// A driverkit driver of the test type "counter" for the streaming rows: Count streams n
// ticks of `size` bytes, Echo sends each tick back. Add and Sum only complete the type.
import { serve } from '../../src/driver/index.js';
import { counter } from '../../test/fixtures/gen/contracts/counter.js';

await serve({
  contract: counter,
  handlers: {
    1: {
      add: ({ value }) => ({ total: value, count: '1' }),
      async *count({ n, size }) {
        const payload = Buffer.alloc(size, 120);
        for (let i = 0; i < n; i++) yield { i, payload };
      },
      sum: async (requests) => {
        let total = 0n;
        let count = 0n;
        for await (const { value } of requests) {
          total += BigInt(value);
          count++;
        }
        return { total: String(total), count: String(count) };
      },
      async *echo(requests) {
        for await (const tick of requests) yield tick;
      },
    },
  },
});
