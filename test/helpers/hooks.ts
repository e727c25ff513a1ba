/** Root hooks: temporary directories are removed after each test, fixtures after the run. */
import { cleanupRunTempDirs, cleanupTempDirs } from './tmp.js';

export const mochaHooks = {
  async afterEach(): Promise<void> {
    await cleanupTempDirs();
  },
  async afterAll(): Promise<void> {
    await cleanupRunTempDirs();
  },
};
