// Tests run as CommonJS through @swc/jest (no --experimental-vm-modules); production runs the
// bundle in dist/. Integration tests spawn bin/ldsup.cjs → dist/cli.cjs, built by `pretest`.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transformIgnorePatterns: ['/node_modules/(?!chalk/)'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
    '^.+\\.js$': ['@swc/jest', {}],
  },
  testTimeout: 60000,
  // TMPDIR for the run, removed at its end (test/support/global-setup.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Integration tests bind ports and spawn process trees; two at a time fit this 2-core machine.
  maxWorkers: 2,
};
