// A driverkit driver for benchmarks: GetUser echoes the id back as the username, so the
// payload size is the caller's choice.
import { serve, userprovider } from '../../src/driver/index.js';

await serve({
  contract: userprovider,
  handlers: {
    1: {
      configure: () => ({}),
      getUser: (req) => ({ user: { id: req.userId, username: req.userId?.opaqueId ?? '' } }),
      getUserByClaim: () => ({}),
      getUserGroups: () => ({ groups: [] }),
      findUsers: () => ({ users: [] }),
    },
  },
});
