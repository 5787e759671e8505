/**
 * setupFilesAfterEnv of the process and engine projects: their tests start processes and wait on a
 * real engine, so each may take minutes (a test that hangs still fails, after 5). Jest reads
 * `testTimeout` only from the top-level config, for every project: a project's own is ignored.
 */
jest.setTimeout(300_000);
