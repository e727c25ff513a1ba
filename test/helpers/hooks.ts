/** Root hooks: every test's temporary directories are removed after it. */
import { cleanupTempDirs } from './tmp.js';

export const mochaHooks = {
  async afterEach(): Promise<void> {
    await cleanupTempDirs();
  },
};
