/** @type {import('jest').Config} */
// The fuzzers (test/fuzz), apart from `npm test`: `npm run fuzz -- --seconds N` (scripts/fuzz.js).
const seconds = Number(process.env.KRING_FUZZ_SECONDS ?? 20);
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  displayName: 'fuzz',
  roots: ['<rootDir>/test/fuzz'],
  testMatch: ['**/*.test.ts'],
  // The decoders run without the native addon, as in the unit tier.
  moduleNameMapper: { '^node-gyp-build$': '<rootDir>/test/unit/no-native-loader.js' },
  maxWorkers: 1,
  testTimeout: seconds * 1000 * 2 + 60000,
};
