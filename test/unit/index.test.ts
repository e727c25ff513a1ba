/** The public API is exactly what docs/library.md documents: nothing internal leaks out, nothing documented is missing. */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every name src/index.ts exports, values and types. */
function exported(): string[] {
  const text = fs.readFileSync(path.join(root, 'src', 'index.ts'), 'utf8');
  const names: string[] = [];
  for (const m of text.matchAll(/export(?: type)? \{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '');
      if (name) names.push(name);
    }
  }
  return names.sort();
}

/** Every name docs/library.md documents: the headings' classes, the export table, the types list. */
function documented(): string[] {
  const text = fs.readFileSync(path.join(root, 'docs', 'library.md'), 'utf8');
  const names = new Set<string>(['GenerationStore']);
  const table = text.slice(text.indexOf('## Other exports'), text.indexOf('## I/O modes'));
  for (const row of table.split('\n').filter((l) => l.startsWith('| `'))) {
    for (const m of row.split('|')[1]!.matchAll(/`([A-Za-z_]+)/g)) names.add(m[1]!);
  }
  const types = table.slice(table.indexOf('Types:'));
  for (const m of types.matchAll(/`([A-Za-z]+)`/g)) names.add(m[1]!);
  return [...names].sort();
}

describe('public API', () => {
  it('src/index.ts exports exactly the names docs/library.md documents', async () => {
    expect(exported()).to.deep.equal(documented());
    // And the runtime exports exist as values.
    const api = (await import('../../src/index.js')) as Record<string, unknown>;
    for (const name of [
      'GenerationStore',
      'CertswapError',
      'ErrorCodes',
      'validatePair',
      'readPairFiles',
      'watchStore',
      'TlsIdentity',
      'useBlockingIo',
    ]) {
      expect(api[name], name).to.not.equal(undefined);
    }
  });
});
