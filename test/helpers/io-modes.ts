/**
 * A suite that calls the library in-process, run once per I/O mode: thread-pool calls (the
 * default) and blocking calls (the CLI's, useBlockingIo(true)). The mode is process-wide, so it is
 * set in `before` and always put back to the default in `after`, leaving other suites unaffected.
 *
 * That the mode really was in effect is checked, not assumed: only blocking I/O calls
 * fs.fsyncSync (the thread-pool fsync goes through the libuv pool), so each run counts those
 * calls and ends with a test that there were some in blocking mode and none otherwise.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { useBlockingIo } from '../../src/index.js';

export interface IoMode {
  name: 'thread-pool' | 'blocking';
  blocking: boolean;
}

export const IO_MODES: readonly IoMode[] = [
  { name: 'thread-pool', blocking: false },
  { name: 'blocking', blocking: true },
];

/**
 * describe(`${title} (<mode> I/O)`, body) for each mode. The body must make at least one durable
 * write through the library (an install, a stage), which the closing check relies on.
 */
export function describeIoModes(title: string, body: (this: Mocha.Suite, mode: IoMode) => void): void {
  for (const mode of IO_MODES) {
    describe(`${title} (${mode.name} I/O)`, function () {
      const node = fs as { fsyncSync: typeof fs.fsyncSync };
      const realFsyncSync = node.fsyncSync;
      let blockingFsyncs = 0;
      before(() => {
        useBlockingIo(mode.blocking);
        node.fsyncSync = (fd) => {
          blockingFsyncs++;
          realFsyncSync(fd);
        };
      });
      after(() => {
        node.fsyncSync = realFsyncSync;
        useBlockingIo(false);
      });
      body.call(this, mode);
      it(`made its file system calls with ${mode.name} I/O`, function () {
        // Nothing to check if every test above was skipped (as when not root).
        if (this.test?.parent?.tests.every((t) => t === this.test || t.isPending())) this.skip();
        if (mode.blocking) expect(blockingFsyncs, 'fsyncSync calls').to.be.greaterThan(0);
        else expect(blockingFsyncs, 'fsyncSync calls').to.equal(0);
      });
    });
  }
}
