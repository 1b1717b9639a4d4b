/** @type {import('jest').Config} */
// Soak and load (test/soak), apart from `npm test`: `npm run soak` (full) or `npm run soak -- --short` (CI).
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  displayName: 'soak',
  roots: ['<rootDir>/test/soak'],
  testMatch: ['**/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 3_600_000,
};
