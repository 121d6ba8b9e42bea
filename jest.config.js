/** One jest run over every package's unit tests and the root integration tests.
 * Sources are transpiled by ts-jest (no type-checking here: `npm run build` does that).
 * Code that needs compiled JS (worker threads, child processes) uses dist/, so
 * `npm run build` must run before `npm test` (the ci script does both). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    // Transpile only (isolatedModules): type errors are `tsc --build`'s job, not jest's.
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }],
    // ccxt's CommonJS build require()s ESM-only @noble/@scure packages (plain Node 20.19+
    // loads them via require(esm); jest 29 cannot), so jest transpiles those to CommonJS.
    '^.+/node_modules/(@noble|@scure)/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'CommonJS', target: 'ES2022', isolatedModules: true }, diagnostics: false }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@noble|@scure)/)'],
  moduleNameMapper: {
    '^@engine/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  testTimeout: 60000,
};
