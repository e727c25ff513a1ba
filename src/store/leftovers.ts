/**
 * Leftovers are the entries an interrupted operation leaves behind: staging directories, trash
 * directories of an interrupted prune, temporary symlinks and state files, provisioners' work
 * directories. None of them is ever part of the contract (their names start with '.'), so
 * removing them changes nothing a reader can see. clearLeftovers takes a LockedContext: it runs
 * with the store lock held, when no operation of ours that takes the lock is in flight.
 */
import path from 'node:path';
import { type ErrorCode, errnoCode, toCertswapError } from '../errors.js';
import { fsOps } from '../io/fs.js';
import { processAlive, removeTree } from '../io/durable.js';
import { generationsDirExists } from './store-path.js';
import { PROVISION_PREFIX, STAGING_PREFIX, TRASH_PREFIX, isTempEntry } from './layout.js';
import type { LockedContext } from './locked.js';

export interface Leftovers {
  removed: string[];
  /** Leftovers that could not be removed, with the error: the rest were removed all the same. */
  failed: Array<{ path: string; code: ErrorCode; message: string }>;
}

/** Names as bytes: a leftover's name need not be UTF-8, and as a string it would name nothing. */
async function names(dir: string): Promise<Buffer[]> {
  try {
    return await fsOps.readdirBuffers(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/**
 * A provisioner's work directory is made without the store lock (provisioning can take minutes):
 * one whose process is still alive may be in use, and is left to it. A dead process's directory,
 * or our own (our provisioning is not in flight while we hold the lock), is a leftover.
 */
function inUseByAnotherProcess(name: string): boolean {
  const pid = Number(/^\.provision-(\d+)-/.exec(name)?.[1]);
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid);
}

/**
 * Removes every leftover and returns what was removed and what could not be. Not made durable: a
 * removal lost in a power cut only brings back a leftover, which the next call removes again.
 * Removal never follows a link (see fsOps.rm and rmSync), so a leftover name planted as a link to
 * something outside the store removes the link, and generations/ itself is checked (a real
 * directory of ours) before it is listed. One leftover that cannot be removed does not stop the
 * others.
 */
export async function clearLeftovers(ctx: LockedContext): Promise<Leftovers> {
  const paths = ctx.paths;
  const out: Leftovers = { removed: [], failed: [] };
  const remove = async (dir: string, name: Buffer): Promise<void> => {
    const p = Buffer.concat([Buffer.from(`${dir}/`), name]);
    try {
      await removeTree(p);
      out.removed.push(path.join(dir, name.toString()));
    } catch (err) {
      out.failed.push({
        path: path.join(dir, name.toString()),
        code: toCertswapError(err).code,
        message: (err as Error).message,
      });
    }
  };
  if (await generationsDirExists(paths)) {
    for (const name of await names(paths.generations)) {
      // latin1 maps bytes one to one: the prefixes are ASCII, whatever follows them.
      const text = name.toString('latin1');
      if (text.startsWith(STAGING_PREFIX) || text.startsWith(TRASH_PREFIX)) await remove(paths.generations, name);
    }
  }
  for (const name of await names(paths.dir)) {
    const text = name.toString('latin1');
    // A temporary name is a file or a link when we made it; as a tree it is removed all the same.
    if (isTempEntry(text) || (text.startsWith(PROVISION_PREFIX) && !inUseByAnotherProcess(text)))
      await remove(paths.dir, name);
  }
  return out;
}
