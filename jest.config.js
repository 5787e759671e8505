/**
 * Two projects: "unit" runs the Pulumi program under mocks (no Docker needed);
 * "engine" runs the scripts that Command resources execute against a real Docker
 * engine, which its globalSetup installs and starts (see engine/).
 */
const tsJest = ["ts-jest", { tsconfig: "tsconfig.json", isolatedModules: false }];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": tsJest },
      testMatch: ["<rootDir>/test/unit/**/*.test.ts"],
    },
  ],
};
