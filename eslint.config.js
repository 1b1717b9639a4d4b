// ESLint (flat config): typescript-eslint's recommended rules over src, test and bench; formatting
// is Prettier's (.prettierrc.json), not ESLint's.
'use strict';
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'bench/.work/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        __filename: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        global: 'readonly',
        queueMicrotask: 'readonly',
      },
    },
    rules: {
      // Unused arguments named with a leading underscore are deliberate (callbacks with a fixed shape).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // The library writes nothing to the console; tests and the CLI fixtures may.
      'no-console': ['error'],
    },
  },
  {
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**', 'bench/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
);
