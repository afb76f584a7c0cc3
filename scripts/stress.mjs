// npm run test:stress: the whole suite beside a CPU burner that keeps every core busy, as
// a shared CI machine or a developer's build does. A test that passes only on an idle
// machine waits for time instead of for an event; this run finds it.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

// `npm run test:stress -- 6`: six busy processes; default one a core. Other arguments go to vitest.
const args = process.argv.slice(2);
const count = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : availableParallelism();
const burners = Array.from({ length: count }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const stopBurners = () => {
  for (const b of burners) b.kill('SIGKILL');
};
process.on('exit', stopBurners);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

console.log(`test:stress: ${burners.length} busy processes beside the suite`);
const suite = spawn('npm', ['test', '--', ...args], { stdio: 'inherit' });
suite.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
