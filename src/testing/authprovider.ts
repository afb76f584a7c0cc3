// The AuthProvider conformance suite: what every driver of the type must do, given a
// directory that holds the three users of examples/users.json with the passwords of
// examples/auth-users.json (einstein: relativity, marie: radioactivity, richard:
// superfluidity), and `locked`, whose account is locked (password: locked).
import type { AuthProviderContract } from '../contracts/authprovider.js';
import { check } from './check.js';
import type { ConformanceSuite } from './suite.js';

/** The suite for `authprovider` drivers. */
export const authproviderSuite: ConformanceSuite<AuthProviderContract> = {
  type: 'authprovider',
  requires:
    'einstein (relativity), marie (radioactivity) and richard (superfluidity) as in examples/users.json, and a locked account `locked` (password locked)',
  cases: [
    {
      name: 'Authenticate with the right secret gives the user and a "user" scope',
      async run(auth) {
        const { user, scopes } = await auth.authenticate({
          clientId: 'einstein',
          clientSecret: 'relativity',
        });
        check.fields(
          user,
          { username: 'einstein', mail: 'einstein@example.org', displayName: 'Albert Einstein' },
          'Authenticate(einstein).user',
        );
        check.equal(
          user?.id?.opaqueId,
          '4c510ada-c86b-4815-8820-42cdf82c3d51',
          'Authenticate(einstein).user.id.opaque_id',
        );
        check.equal(scopes.user?.role, 'owner', 'Authenticate(einstein).scopes.user.role');
      },
    },
    {
      name: 'a wrong secret and an unknown client id are the same UNAUTHENTICATED answer',
      async run(auth) {
        const wrong = await check.rejects(
          auth.authenticate({ clientId: 'einstein', clientSecret: 'newton' }),
          'UNAUTHENTICATED',
          'Authenticate(einstein, wrong secret)',
        );
        const unknown = await check.rejects(
          auth.authenticate({ clientId: 'nobody-42', clientSecret: 'newton' }),
          'UNAUTHENTICATED',
          'Authenticate(nobody-42)',
        );
        check.equal(unknown.details, wrong.details, 'the two answers, word for word');
        check.equal(
          unknown.details.includes('nobody-42') || wrong.details.includes('einstein'),
          false,
          'the answers name no client id',
        );
      },
    },
    {
      name: 'an empty secret is UNAUTHENTICATED, never an anonymous success',
      async run(auth) {
        await check.rejects(
          auth.authenticate({ clientId: 'einstein', clientSecret: '' }),
          'UNAUTHENTICATED',
          'Authenticate(einstein, "")',
        );
        await check.rejects(
          auth.authenticate({ clientId: '', clientSecret: '' }),
          'UNAUTHENTICATED',
          'Authenticate("", "")',
        );
      },
    },
    {
      name: 'a locked account with the right secret is PERMISSION_DENIED; with a wrong one, as any other',
      async run(auth) {
        await check.rejects(
          auth.authenticate({ clientId: 'locked', clientSecret: 'locked' }),
          'PERMISSION_DENIED',
          'Authenticate(locked, right secret)',
        );
        await check.rejects(
          auth.authenticate({ clientId: 'locked', clientSecret: 'wrong' }),
          'UNAUTHENTICATED',
          'Authenticate(locked, wrong secret)',
        );
      },
    },
  ],
};
