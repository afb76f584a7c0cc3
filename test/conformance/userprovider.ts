// The UserProvider conformance suite: what every driver of the type must do, given a
// directory that holds (at least) the three users of examples/users.json. Run it against a
// new driver by calling describeUserProvider with a function that starts it.
import { describe, expect, it } from 'vitest';
import type { Driver } from '../../src/host/driver.js';
import type { UserProviderContract } from '../../src/contracts/userprovider.js';
import { RpcError } from '../../src/errors.js';
import { Status } from '../../src/status.js';

const EINSTEIN = '4c510ada-c86b-4815-8820-42cdf82c3d51';

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RpcError);
  return err as RpcError;
}

export function describeUserProvider(name: string, start: () => Promise<Driver<UserProviderContract>>): void {
  describe(`UserProvider conformance: ${name}`, () => {
    it('GetUser returns the user with groups, or without when asked', async () => {
      const users = (await start()).client;
      const { user } = await users.getUser({ userId: { opaqueId: EINSTEIN } });
      expect(user).toMatchObject({ username: 'einstein', mail: 'einstein@example.org', displayName: 'Albert Einstein', uidNumber: 123, gidNumber: 987, mailVerified: true });
      expect(user?.groups).toContain('physics-lovers');
      const bare = await users.getUser({ userId: { opaqueId: EINSTEIN }, skipFetchingGroups: true });
      expect(bare.user?.groups).toEqual([]);
    });

    it('GetUser of an unknown id is NOT_FOUND naming the id and the method', async () => {
      const users = (await start()).client;
      const err = await rejection(users.getUser({ userId: { opaqueId: 'nobody-42' } }));
      expect(err.status).toBe(Status.NOT_FOUND);
      expect(err.message).toContain('nobody-42');
      expect(err.message).toContain('[NOT_FOUND]');
      expect(err.method).toBe('/driverkit.userprovider.v1.UserProvider/GetUser');
      expect(err.driver).toBeTruthy();
    });

    it('GetUser without an id is INVALID_ARGUMENT', async () => {
      const users = (await start()).client;
      expect((await rejection(users.getUser({}))).status).toBe(Status.INVALID_ARGUMENT);
    });

    it('GetUserByClaim finds by mail, username and uid; an unknown claim is INVALID_ARGUMENT', async () => {
      const users = (await start()).client;
      expect((await users.getUserByClaim({ claim: 'mail', value: 'marie@example.org' })).user?.username).toBe('marie');
      expect((await users.getUserByClaim({ claim: 'username', value: 'richard' })).user?.displayName).toBe('Richard Feynman');
      expect((await users.getUserByClaim({ claim: 'uid', value: '123' })).user?.username).toBe('einstein');
      const noGroups = await users.getUserByClaim({ claim: 'username', value: 'marie', skipFetchingGroups: true });
      expect(noGroups.user?.groups).toEqual([]);
      const bad = await rejection(users.getUserByClaim({ claim: 'shoe_size', value: '42' }));
      expect(bad.status).toBe(Status.INVALID_ARGUMENT);
      expect(bad.message).toContain('shoe_size');
      expect((await rejection(users.getUserByClaim({ claim: 'mail', value: 'nobody@example.org' }))).status).toBe(Status.NOT_FOUND);
    });

    it('GetUserGroups lists the groups; unknown users are NOT_FOUND', async () => {
      const users = (await start()).client;
      expect((await users.getUserGroups({ userId: { opaqueId: EINSTEIN } })).groups).toEqual(['sailing-lovers', 'violin-haters', 'physics-lovers']);
      expect((await rejection(users.getUserGroups({ userId: { opaqueId: 'nobody' } }))).status).toBe(Status.NOT_FOUND);
    });

    it('FindUsers matches case-insensitively; an empty query finds nobody', async () => {
      const users = (await start()).client;
      const found = await users.findUsers({ query: 'CURIE' });
      expect(found.users.map((u) => u.username)).toEqual(['marie']);
      const all = await users.findUsers({ query: 'example.org' });
      expect(all.users.map((u) => u.username).sort()).toEqual(['einstein', 'marie', 'richard']);
      expect((await users.findUsers({ query: '' })).users).toEqual([]);
    });
  });
}
