// jest loads globalSetup through CommonJS `require`, outside moduleNameMapper: this file
// must stay free of relative imports.

/**
 * Starts nothing: a run of unit tests needs no outside server. It only names this run, so the
 * test files that call `requireServices` (test/setup/services.ts) take a lease on the shared
 * servers, and global-teardown stops exactly what this run brought up. Workers inherit these
 * env keys from jest's main process.
 */
export default async function globalSetup(): Promise<void> {
  process.env.SIPHON_TEST_RUN_ID = `jest-${process.pid}-${Date.now()}`;
  process.env.SIPHON_TEST_RUN_PID = String(process.pid);
}
