// The demo user provider: three fixed users, as in CS3 Reva's demo driver.
import { serve, type User, userprovider } from 'driverkit/driver';
import { directoryHandlers } from '../lib/directory.js';

const IDP = 'http://localhost:9998';
const PRIMARY = 1;

const USERS: User[] = [
  {
    id: { idp: IDP, opaqueId: '4c510ada-c86b-4815-8820-42cdf82c3d51', type: PRIMARY },
    username: 'einstein',
    mail: 'einstein@example.org',
    mailVerified: true,
    displayName: 'Albert Einstein',
    groups: ['sailing-lovers', 'violin-haters', 'physics-lovers'],
    uidNumber: '123',
    gidNumber: '987',
  },
  {
    id: { idp: IDP, opaqueId: 'f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c', type: PRIMARY },
    username: 'marie',
    mail: 'marie@example.org',
    mailVerified: true,
    displayName: 'Marie Curie',
    groups: ['radium-lovers', 'polonium-lovers', 'physics-lovers'],
    uidNumber: '456',
    gidNumber: '987',
  },
  {
    id: { idp: IDP, opaqueId: '932b4540-8d16-481e-8ef4-588e4b6b151c', type: PRIMARY },
    username: 'richard',
    mail: 'richard@example.org',
    mailVerified: true,
    displayName: 'Richard Feynman',
    groups: ['quantum-lovers', 'philosophy-haters', 'physics-lovers'],
    uidNumber: '789',
    gidNumber: '987',
  },
];

await serve({
  contract: userprovider,
  handlers: {
    1: {
      // The demo directory is fixed: any configuration is accepted and ignored.
      configure: () => ({}),
      ...directoryHandlers(() => USERS),
    },
  },
});
