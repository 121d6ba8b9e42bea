/** One jest run over every package's unit tests and the root integration tests.
 * Sources are transformed by swc (no type-checking here: `npm run build` does that).
 * Code that needs compiled JS (worker threads, child processes) uses dist/, so
 * `npm run build` must run before `npm test` (the ci script does both). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  moduleNameMapper: {
    '^@engine/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  testTimeout: 60000,
};
