/**
 * The docs against the tree and the code: the README stays the front door (small, an index of
 * docs/), no relative link in the docs points at nothing, and the CLI's command list is the same
 * in the code (COMMANDS), in its usage text and in docs/cli.md.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { loadConfigFile } from '../../src/agent/config.js';
import { COMMANDS } from '../../src/cli/args.js';
import { USAGE } from '../../src/cli/usage.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const DOCS = path.join(ROOT, 'docs');
const README = path.join(ROOT, 'README.md');

/** Markdown without its fenced code blocks and inline code, where brackets are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** The targets of the inline links `[text](target)` in a markdown text, outside code. */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

/** Whether a link target leaves the repository (a URL with a scheme, or mail). */
function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

/** The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

async function docFiles(): Promise<string[]> {
  return (await fse.readdir(DOCS)).sort();
}

async function markdownFiles(): Promise<string[]> {
  const docs = (await docFiles()).filter((f) => f.endsWith('.md')).map((f) => path.join(DOCS, f));
  return [README, ...docs];
}

/** The command names in the first column of the table under "## Commands" in docs/cli.md. */
function commandTable(markdown: string): string[] {
  const section = /^## Commands\n([\s\S]*?)(?=^## )/m.exec(markdown)?.[1];
  expect(section, 'docs/cli.md has a "## Commands" section').to.be.a('string');
  const rows = section!.split('\n').filter((l) => l.startsWith('|'));
  expect(rows[0], 'the command table').to.match(/^\|\s*command\s*\|/);
  expect(rows[1], 'the header separator').to.match(/^\|[-:| ]+\|$/);
  return rows.slice(2).map((row) => {
    const cell = row.split('|')[1]!.trim();
    const name = /^`([a-z-]+)`$/.exec(cell)?.[1];
    expect(name, `first cell of ${row.slice(0, 40)}... is a command as \`name\``).to.be.a('string');
    return name!;
  });
}

/** The command names in the "Commands:" section of the usage text. */
function usageCommands(usage: string): string[] {
  const section = /^Commands:\n([\s\S]*?)\n\n/m.exec(usage)?.[1];
  expect(section, 'USAGE has a "Commands:" section').to.be.a('string');
  return [...section!.matchAll(/^ {2}([a-z-]+)(?:\s|$)/gm)].map((m) => m[1]!);
}

const sorted = (names: readonly string[]): string[] => [...names].sort();

describe('docs', () => {
  it('keeps the README at most 10 KB', async () => {
    const { size } = await fse.stat(README);
    expect(size, 'README.md bytes').to.be.at.most(10 * 1024);
  });

  it('indexes every file in docs/ from the README', async () => {
    const linked = new Set(
      linkTargets(await fse.readFile(README, 'utf8'))
        .filter((t) => !isExternal(t) && !t.startsWith('#'))
        .map((t) => path.resolve(ROOT, t.split('#')[0]!)),
    );
    for (const f of await docFiles()) expect(linked.has(path.join(DOCS, f)), `README links docs/${f}`).to.equal(true);
  });

  it('has no relative link in README.md or docs/*.md that points at nothing', async () => {
    const broken: string[] = [];
    for (const file of await markdownFiles()) {
      const text = await fse.readFile(file, 'utf8');
      for (const target of linkTargets(text)) {
        if (isExternal(target)) continue;
        const [rel, anchor] = target.split('#') as [string, string | undefined];
        const dest = rel === '' ? file : path.resolve(path.dirname(file), decodeURI(rel));
        const where = `${path.relative(ROOT, file)}: ${target}`;
        const st = await fse.stat(dest).catch(() => null);
        if (!st?.isFile()) {
          broken.push(`${where} (no such file)`);
          continue;
        }
        if (anchor !== undefined && dest.endsWith('.md') && !anchors(await fse.readFile(dest, 'utf8')).has(anchor)) {
          broken.push(`${where} (no such heading)`);
        }
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('names the same commands in COMMANDS, the usage text and the table of docs/cli.md', async () => {
    const table = commandTable(await fse.readFile(path.join(DOCS, 'cli.md'), 'utf8'));
    const usage = usageCommands(USAGE);
    expect(new Set(table).size, 'no command twice in docs/cli.md').to.equal(table.length);
    expect(new Set(usage).size, 'no command twice in the usage text').to.equal(usage.length);
    expect(sorted(usage), 'USAGE').to.deep.equal(sorted(COMMANDS));
    expect(sorted(table), 'docs/cli.md').to.deep.equal(sorted(COMMANDS));
  });

  it('prints agent configurations in docs/agent.md that load as they are', async () => {
    const text = await fse.readFile(path.join(DOCS, 'agent.md'), 'utf8');
    const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((b) => /^certificates:/m.test(b));
    expect(blocks.length).to.be.at.least(2);
    const dir = await tempDir();
    for (const [i, block] of blocks.entries()) {
      const file = path.join(dir, `example-${i}.yaml`);
      await fse.writeFile(file, block);
      expect((await loadConfigFile(file)).certificates.length, block).to.be.greaterThan(0);
    }
  });
});
