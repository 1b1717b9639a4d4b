#!/usr/bin/env node
// npm run fuzz [-- --seconds N] [-- --seed S]: every fuzz target for N seconds (default 20), seeded.
'use strict';
const { spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const { values } = parseArgs({ options: { seconds: { type: 'string' }, seed: { type: 'string' } }, strict: true });
const env = { ...process.env };
if (values.seconds !== undefined) env.KRING_FUZZ_SECONDS = values.seconds;
if (values.seed !== undefined) env.KRING_FUZZ_SEED = values.seed;
const r = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '-c', 'jest.fuzz.config.js'], {
  stdio: 'inherit',
  env,
  cwd: require('node:path').join(__dirname, '..'),
});
process.exit(r.status ?? 1);
