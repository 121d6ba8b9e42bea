/** One jest run over every package's unit tests and the root integration tests.
 * Sources are transpiled by ts-jest (no type-checking here: `npm run build` does that).
 * Code that needs compiled JS (worker threads, child processes) uses dist/, so
 * `npm run build` must run before `npm test` (the ci script does both).
 * `npm test` runs jest under `node --experimental-vm-modules`: jest then serves what plain
 * Node does, require() of ESM-only packages (ccxt's @noble/@scure, commander 15) and
 * dynamic import() from CommonJS (PGlite's WASM glue loading Node built-ins). */
module.exports = {
  // jest's node environment plus the host's typed arrays (see the file for why).
  testEnvironment: '<rootDir>/test/support/jest-environment.js',
  roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/test'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    // Transpile only (isolatedModules): type errors are `tsc --build`'s job, not jest's.
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }],
  },
  moduleNameMapper: {
    '^@engine/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  testTimeout: 60000,
};
