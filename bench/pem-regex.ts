/**
 * The PEM framing src/pki/pem.ts had before its linear rewrite, unchanged but for line wrapping: the
 * "before" of section 8. Its lazy `[\s\S]*?` rescans to the end of the input from every BEGIN
 * line, and /=+$/ in its base64 check is quadratic on a run of `=` followed by anything else.
 * test/unit/pki/pem.test.ts holds its own copy as the reference oracle, so that the unit test does not
 * depend on the bench.
 */
import { CertswapError, ErrorCodes, type FileRole } from '../src/errors.js';
import type { PemBlock } from '../src/pki/pem.js';

const BLOCK = /-----BEGIN ([A-Z0-9][A-Z0-9 ]*)-----\r?\n([\s\S]*?)-----END ([A-Z0-9][A-Z0-9 ]*)-----/g;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

function describeBytes(data: Buffer): string {
  if (data[0] === 0x30) return 'looks like DER (binary ASN.1); certswap takes PEM';
  return 'no PEM block found';
}

export function regexParsePem(data: Buffer, role: FileRole, file?: string): PemBlock[] {
  const where = file ? `${role} ${file}` : role;
  const ctx = { file: role, path: file };
  if (data.some((b) => b === 0 || b > 0x7e || (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09))) {
    throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: ${describeBytes(data)}`, ctx);
  }
  const text = data.toString('latin1');
  const blocks: PemBlock[] = [];
  let last = 0;
  for (const m of text.matchAll(BLOCK)) {
    const gap = text.slice(last, m.index);
    if (gap.trim() !== '') {
      const first = blocks.length === 0;
      const problem = `unexpected text ${first ? 'before the first' : 'between'} PEM block${first ? '' : 's'}`;
      throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: ${problem}`, ctx);
    }
    const [, label, body, endLabel] = m;
    if (label !== endLabel) {
      throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: BEGIN ${label} closed by END ${endLabel}`, ctx);
    }
    blocks.push(parseBody(label!, body!, where, ctx));
    last = m.index + m[0].length;
  }
  if (blocks.length === 0) {
    throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: ${describeBytes(data)}`, ctx);
  }
  if (text.slice(last).trim() !== '') {
    throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: unexpected text after the last PEM block`, ctx);
  }
  return blocks;
}

function parseBody(label: string, body: string, where: string, ctx: { file: FileRole; path?: string }): PemBlock {
  const lines = body.split(/\r?\n/);
  const headers: Record<string, string> = {};
  let i = 0;
  if (lines.some((l) => l.includes(':'))) {
    for (; i < lines.length && lines[i]!.includes(':'); i++) {
      const [k, ...v] = lines[i]!.split(':');
      headers[k!.trim()] = v.join(':').trim();
    }
  }
  const b64 = lines.slice(i).map((l) => l.trim());
  if (!b64.every((l) => BASE64_LINE.test(l))) {
    throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: the ${label} block is not valid base64`, ctx);
  }
  const joined = b64.join('');
  const der = Buffer.from(joined, 'base64');
  if (der.length === 0 || der.toString('base64').replace(/=+$/, '') !== joined.replace(/=+$/, '')) {
    const problem = `the ${label} block is empty or not valid base64`;
    throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: ${problem}`, ctx);
  }
  return { label, headers, der };
}
