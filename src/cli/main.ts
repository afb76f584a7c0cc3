#!/usr/bin/env node
// The driverkit executable: the CLI (run.ts) on this process's arguments.
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2));
