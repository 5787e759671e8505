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
    {
      displayName: "engine",
      testEnvironment: "node",
      transform: { "^.+\\.ts$": tsJest },
      testMatch: ["<rootDir>/test/engine/**/*.test.ts"],
      // Installs and starts a real Docker engine and builds the stand-in images;
      // throws (fails the run) if the engine cannot start. Never skips.
      globalSetup: "<rootDir>/test/engine/globalSetup.ts",
      // Generous: first run installs docker.io and debootstraps the python image.
      testTimeout: 300000,
    },
  ],
};
