#!/usr/bin/env node
// `npm run image [-- --out DIR]`: assembles what the container image holds, in DIR/app
// (default .cache/image/app), from the package as npm would ship it: `npm pack`, unpacked,
// its production dependencies installed from package-lock.json (no dev tools, no sources),
// and the shipped drivers built into app/bin/<type>/<name>. deploy/docker/Dockerfile copies
// that folder; test/image.test.ts starts the gateway and a driver from it, as the container
// would, because no container tool runs on the machines that test it.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = process.argv.indexOf('--out');
const out = at > 0 ? process.argv[at + 1] : join(root, '.cache', 'image');
const app = join(out, 'app');
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'driverkit-image-'));
try {
  // What a user's `npm install driverkit` gets: package.json's "files". dist/ as built now
  // (`prepare` would rebuild it under tests that use it): built first if missing.
  if (!existsSync(join(root, 'dist', 'bundle', 'launch', 'index.js')))
    run('npm', ['run', 'build'], root);
  const tarball = run(
    'npm',
    ['pack', '--silent', '--ignore-scripts', '--pack-destination', work],
    root,
  ).trim();
  run('tar', ['-xzf', join(work, tarball.split('\n').pop()), '-C', work], root);
  renameSync(join(work, 'package'), app);
  cpSync(join(root, 'package-lock.json'), join(app, 'package-lock.json'));
  // Production dependencies only; `prepare` (tsc) is for a checkout, the package has dist/.
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], app);
  // The shipped drivers, built by the package's own builder into the image's bin/.
  const config = join(work, 'build.toml');
  const drivers = readdirSync(join(root, 'drivers', 'userprovider')).filter(
    (d) => d !== 'lib' && d !== 'go',
  );
  writeFileSync(
    config,
    `bin_dir = ${JSON.stringify(join(app, 'bin'))}\n${drivers
      .map(
        (d) =>
          `[drivers.${d}]\ntype = "userprovider"\ndriver = ${JSON.stringify(join(root, 'drivers', 'userprovider', d))}\n`,
      )
      .join('')}`,
  );
  run(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'build', '--config', config], root);
  // The build cache's bookkeeping stays out of the image.
  for (const f of readdirSync(join(app, 'bin')))
    if (f.startsWith('.')) rmSync(join(app, 'bin', f), { recursive: true, force: true });
  cpSync(join(root, 'examples', 'users.json'), join(app, 'examples', 'users.json'));
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`image contents in ${app}\n`);
