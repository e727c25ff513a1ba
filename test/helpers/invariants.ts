/**
 * The invariants of docs/design.md as checks on a store directory, shared by the fault, crash and race
 * suites. Reads the directory directly, not through the library under test.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';

/** Whether generations/<n> is complete: cert.pem and key.pem present, parseable and matching. */
export async function generationIsComplete(dir: string, n: number | string): Promise<boolean> {
  try {
    const g = path.join(dir, 'generations', String(n));
    const cert = new X509Certificate(await fse.readFile(path.join(g, 'cert.pem')));
    return cert.checkPrivateKey(createPrivateKey(await fse.readFile(path.join(g, 'key.pem'))));
  } catch {
    return false;
  }
}

export async function rollbackTargetOnDisk(dir: string, active: number): Promise<number | null> {
  const text = await fse.readFile(path.join(dir, '.history'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [a, p] = line.split(' ');
    if (Number(a) === active) return p === '-' ? null : Number(p);
  }
  return null;
}

/**
 * I1: current is absent or a relative link to a complete generation; every numbered generation
 * is complete. I5: the recorded rollback target of the active generation exists.
 * With noLeftovers (after recover, I4): no staging, trash or temporary entries remain.
 */
export async function checkStoreInvariants(
  dir: string,
  where: string,
  opts: { noLeftovers?: boolean } = {},
): Promise<void> {
  const link = await fse.readlink(path.join(dir, 'current')).catch(() => null);
  const gens = await fse.readdir(path.join(dir, 'generations')).catch(() => [] as string[]);
  for (const name of gens.filter((n) => /^[1-9][0-9]*$/.test(n))) {
    expect(await generationIsComplete(dir, name), `${where}: generations/${name} incomplete`).to.equal(true);
  }
  if (link !== null) {
    const m = /^generations\/([1-9][0-9]*)$/.exec(link);
    expect(m, `${where}: current -> ${link}`).to.not.equal(null);
    expect(await generationIsComplete(dir, m![1]!), `${where}: current -> ${link} not complete (I1)`).to.equal(true);
    const target = await rollbackTargetOnDisk(dir, Number(m![1]));
    if (target !== null) expect(gens, `${where}: rollback target ${target} pruned (I5)`).to.include(String(target));
  }
  if (opts.noLeftovers) {
    const top = await fse.readdir(dir);
    expect(
      gens.filter((n) => n.startsWith('.')),
      `${where}: leftovers in generations/`,
    ).to.deep.equal([]);
    expect(
      top.filter((n) => /\.tmp-/.test(n)),
      `${where}: leftovers in store`,
    ).to.deep.equal([]);
  }
}
