/**
 * Three projects, from fast to slow:
 * - "unit": in-process, no Docker. Pure functions (the config schema, the resolve step, the policy
 *   pack), and the program under Pulumi's mocks: its globalSetup runs every synth the tests read
 *   once (test/unit/synthCases.ts), so no test file loads the program for a committed stack.
 * - "process": the program as a user runs it, as separate processes: `npm run synth` (bin/ or
 *   ts-node), `npm run build`, other checkouts. No Docker.
 * - "engine": the scripts that Command resources run, and whole stacks, against a real Docker
 *   engine, which its globalSetup installs and starts (see engine/).
 *
 * Test files are transpiled only (isolatedModules): `npm test` type-checks everything with tsc first.
 */
const tsJest = ["ts-jest", { tsconfig: "tsconfig.jest.json" }];

/** @type {import('jest').Config} */
module.exports = {
  // Jest's default on these 2-core machines is one worker, so every file ran after the other. The
  // engine files mostly wait on Docker (health checks, builds, backups), so three at a time overlap
  // those waits; their names and ports are their own (each file's uniqueName prefix; the two stack
  // files use different test stacks and port plans), so they do not depend on each other's order.
  maxWorkers: 3,
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": tsJest },
      testMatch: ["<rootDir>/test/unit/**/*.test.ts"],
      globalSetup: "<rootDir>/test/unit/globalSetup.ts",
      globalTeardown: "<rootDir>/test/unit/globalTeardown.ts",
    },
    {
      displayName: "process",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": tsJest },
      testMatch: ["<rootDir>/test/process/**/*.test.ts"],
      setupFilesAfterEnv: ["<rootDir>/test/slowTimeout.ts"],
    },
    {
      displayName: "engine",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": tsJest },
      testMatch: ["<rootDir>/test/engine/**/*.test.ts"],
      // Installs and starts a real Docker engine and builds the stand-in images;
      // throws (fails the run) if the engine cannot start. Never skips.
      globalSetup: "<rootDir>/test/engine/globalSetup.ts",
      setupFilesAfterEnv: ["<rootDir>/test/slowTimeout.ts"],
    },
  ],
};
