// A driverkit driver for benchmarks whose GetUser always fails, as a real answer from a
// healthy driver: UNAVAILABLE for the id "unavailable" (a driver whose backend is down),
// NOT_FOUND for any other. The `unavailable` row compares the two.
import { RpcError, serve, Status, userprovider } from '../../src/driver/index.js';

await serve({
  contract: userprovider,
  handlers: {
    1: {
      configure: () => ({}),
      getUser: (req) => {
        if (req.userId?.opaqueId === 'unavailable')
          throw new RpcError(Status.UNAVAILABLE, 'backend down');
        throw new RpcError(Status.NOT_FOUND, 'nobody');
      },
      getUserByClaim: () => ({}),
      getUserGroups: () => ({ groups: [] }),
      findUsers: () => ({ users: [] }),
    },
  },
});
