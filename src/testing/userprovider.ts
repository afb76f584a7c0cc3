// The UserProvider conformance suite: what every driver of the type must do, given a
// directory that holds (at least) the three users of examples/users.json.
import type { UserProviderContract } from '../contracts/userprovider.js';
import { check } from './check.js';
import type { ConformanceSuite } from './suite.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';

/** The suite for `userprovider` drivers. */
export const userproviderSuite: ConformanceSuite<UserProviderContract> = {
  type: 'userprovider',
  requires:
    "the users of driverkit's examples/users.json (einstein, marie, richard) in the driver's directory",
  cases: [
    {
      name: 'GetUser returns the user with groups, or without when asked',
      async run(users) {
        const { user } = await users.getUser({ userId: { opaqueId: EINSTEIN } });
        check.fields(
          user,
          {
            username: 'einstein',
            mail: 'einstein@example.org',
            displayName: 'Albert Einstein',
            uidNumber: '123',
            gidNumber: '987',
            mailVerified: true,
          },
          'GetUser(einstein).user',
        );
        check.equal(
          user?.groups.includes('physics-lovers'),
          true,
          'GetUser(einstein).user.groups has physics-lovers',
        );
        const bare = await users.getUser({
          userId: { opaqueId: EINSTEIN },
          skipFetchingGroups: true,
        });
        check.equal(bare.user?.groups, [], 'GetUser(einstein, skip_fetching_groups).user.groups');
      },
    },
    {
      name: 'GetUser of an unknown id is NOT_FOUND naming the id',
      async run(users) {
        const err = await check.rejects(
          users.getUser({ userId: { opaqueId: 'nobody-42' } }),
          'NOT_FOUND',
          'GetUser(nobody-42)',
        );
        check.contains(err.details, 'nobody-42', 'the NOT_FOUND message');
      },
    },
    {
      name: 'GetUser without an id is INVALID_ARGUMENT',
      async run(users) {
        await check.rejects(users.getUser({}), 'INVALID_ARGUMENT', 'GetUser({})');
      },
    },
    {
      name: 'GetUserByClaim finds by mail, username and uid; an unknown claim is INVALID_ARGUMENT',
      async run(users) {
        check.equal(
          (await users.getUserByClaim({ claim: 'mail', value: 'marie@example.org' })).user
            ?.username,
          'marie',
          'GetUserByClaim(mail=marie@example.org).user.username',
        );
        check.equal(
          (await users.getUserByClaim({ claim: 'username', value: 'richard' })).user?.displayName,
          'Richard Feynman',
          'GetUserByClaim(username=richard).user.display_name',
        );
        check.equal(
          (await users.getUserByClaim({ claim: 'uid', value: '123' })).user?.username,
          'einstein',
          'GetUserByClaim(uid=123).user.username',
        );
        const noGroups = await users.getUserByClaim({
          claim: 'username',
          value: 'marie',
          skipFetchingGroups: true,
        });
        check.equal(
          noGroups.user?.groups,
          [],
          'GetUserByClaim(username=marie, skip_fetching_groups).user.groups',
        );
        const bad = await check.rejects(
          users.getUserByClaim({ claim: 'shoe_size', value: '42' }),
          'INVALID_ARGUMENT',
          'GetUserByClaim(shoe_size=42)',
        );
        check.contains(bad.details, 'shoe_size', 'the INVALID_ARGUMENT message');
        await check.rejects(
          users.getUserByClaim({ claim: 'mail', value: 'nobody@example.org' }),
          'NOT_FOUND',
          'GetUserByClaim(mail=nobody@example.org)',
        );
      },
    },
    {
      name: 'GetUserGroups lists the groups; unknown users are NOT_FOUND',
      async run(users) {
        // A set: a directory (LDAP) answers in an order of its own.
        check.equal(
          [...(await users.getUserGroups({ userId: { opaqueId: EINSTEIN } })).groups].sort(),
          ['physics-lovers', 'sailing-lovers', 'violin-haters'],
          'GetUserGroups(einstein).groups, sorted',
        );
        await check.rejects(
          users.getUserGroups({ userId: { opaqueId: 'nobody' } }),
          'NOT_FOUND',
          'GetUserGroups(nobody)',
        );
      },
    },
    {
      name: 'FindUsers matches case-insensitively; an empty query finds nobody',
      async run(users) {
        check.equal(
          (await users.findUsers({ query: 'CURIE' })).users.map((u) => u.username),
          ['marie'],
          'FindUsers(CURIE) usernames',
        );
        const all = await users.findUsers({ query: 'example.org' });
        check.equal(
          all.users.map((u) => u.username).sort(),
          ['einstein', 'marie', 'richard'],
          'FindUsers(example.org) usernames',
        );
        check.equal((await users.findUsers({ query: '' })).users, [], 'FindUsers("").users');
      },
    },
  ],
};
