/** @type {import('jest').Config} */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      // No native addon in the unit tier: a stand-in that throws on any syscall (test/unit/no-native.js).
      moduleNameMapper: { '^node-gyp-build$': '<rootDir>/test/unit/no-native-loader.js' },
    },
    { ...common, displayName: 'integration', roots: ['<rootDir>/test/integration'] },
  ],
  // Privileged suites share the machine's network namespaces list and CPU: run files one at a time.
  maxWorkers: 1,
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
