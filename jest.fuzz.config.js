/** @type {import('jest').Config} */
// The fuzzers (test/fuzz), apart from `npm test`: `npm run fuzz -- --seconds N` (scripts/fuzz.js).
const seconds = Number(process.env.KRING_FUZZ_SECONDS ?? 20);
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  displayName: 'fuzz',
  roots: ['<rootDir>/test/fuzz'],
  testMatch: ['**/*.test.ts'],
  // The native addon is loaded (as built by npm ci): the end-to-end target opens real sockets
  // whose ring is the simulator's.
  maxWorkers: 1,
  testTimeout: seconds * 1000 * 2 + 60000,
};
