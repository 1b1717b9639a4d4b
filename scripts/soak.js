#!/usr/bin/env node
// npm run soak [-- --short]: the soak and load suite (test/soak), in this process (--runInBand) with
// node's gc exposed, so that RSS is measured after a collection. --short is CI's version (fewer cycles, frames and packets).
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const { parseArgs } = require('node:util');
const { values } = parseArgs({ options: { short: { type: 'boolean' } }, strict: true });
const env = { ...process.env, KRING_SOAK_SHORT: values.short ? '1' : '0' };
const r = spawnSync(process.execPath, ['--expose-gc', require.resolve('jest/bin/jest'), '-c', 'jest.soak.config.js', '--runInBand'], {
  stdio: 'inherit',
  env,
  cwd: join(__dirname, '..'),
});
process.exit(r.status ?? 1);
