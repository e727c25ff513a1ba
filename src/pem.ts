/**
 * Strict PEM framing. An input is accepted only if it is nothing but PEM blocks and whitespace:
 * text before, between or after the blocks is refused, because a provisioning system that emits
 * junk around a certificate is broken and its output should not become a device's identity.
 */
import { CertswapError, ErrorCodes, type FileRole } from './errors.js';

export interface PemBlock {
  label: string;
  headers: Record<string, string>;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9][A-Z0-9 ]*)-----\r?\n([\s\S]*?)-----END ([A-Z0-9][A-Z0-9 ]*)-----/g;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

function describeBytes(data: Buffer): string {
  if (data[0] === 0x30) return 'looks like DER (binary ASN.1); certswap takes PEM';
  return 'no PEM block found';
}

/** Splits `data` into PEM blocks; `role` and `file` only name the input in error messages. */
export function parsePem(data: Buffer, role: FileRole, file?: string): PemBlock[] {
  const where = file ? `${role} ${file}` : role;
  const ctx = { file: role, path: file };
  // PEM is ASCII. A NUL or a high byte means binary input (DER, random bytes, a key store).
  if (data.some((b) => b === 0 || b > 0x7e || (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09))) {
    throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: ${describeBytes(data)}`, ctx);
  }
  const text = data.toString('latin1');
  const blocks: PemBlock[] = [];
  let last = 0;
  for (const m of text.matchAll(BLOCK)) {
    const gap = text.slice(last, m.index);
    if (gap.trim() !== '') {
      throw new CertswapError(
        ErrorCodes.NOT_PEM,
        `${where}: not PEM: unexpected text ${blocks.length === 0 ? 'before the first' : 'between'} PEM block${blocks.length === 0 ? '' : 's'}`,
        ctx,
      );
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
  // RFC 1421 headers (Proc-Type, DEK-Info) appear only in legacy encrypted keys; keep them so
  // that validation can say "encrypted" instead of "corrupt".
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
  // Buffer.from ignores garbage silently; a round trip proves every character was data.
  if (der.length === 0 || der.toString('base64').replace(/=+$/, '') !== joined.replace(/=+$/, '')) {
    throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: the ${label} block is empty or not valid base64`, ctx);
  }
  return { label, headers, der };
}

/** Canonical PEM: 64-column base64, LF line ends. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
