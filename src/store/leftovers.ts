/**
 * Leftovers are the entries an interrupted operation leaves behind: staging directories, trash
 * directories of an interrupted prune, temporary symlinks and state files, provisioners' work
 * directories. None of them is ever
 * part of the contract (their names start with '.'), so removing them changes nothing a reader
 * can see. Only called with the store lock held, when no operation of ours is in flight.
 */
import path from 'node:path';
import { readGenerationsDir, readdirIfExists } from './generations.js';
import { removeTree } from '../io/durable.js';
import { PROVISION_PREFIX, STAGING_PREFIX, TRASH_PREFIX, isTempEntry, type StorePaths } from './layout.js';

/**
 * Removes every leftover and returns the paths removed. Not made durable: a removal lost in a
 * power cut only brings back a leftover, which the next call removes again. Removal never follows
 * a link (see fsOps.rm and rmSync), so a leftover name planted as a link to something outside the
 * store removes the link, and generations/ itself is checked before it is listed.
 */
export async function clearLeftovers(paths: StorePaths): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readGenerationsDir(paths)) {
    if (name.startsWith(STAGING_PREFIX) || name.startsWith(TRASH_PREFIX)) {
      const p = path.join(paths.generations, name);
      await removeTree(p);
      removed.push(p);
    }
  }
  for (const name of await readdirIfExists(paths.dir)) {
    const p = path.join(paths.dir, name);
    // A temporary name is a file or a link when we made it; as a tree it is removed all the same.
    if (isTempEntry(name) || name.startsWith(PROVISION_PREFIX)) {
      await removeTree(p);
      removed.push(p);
    }
  }
  return removed;
}
