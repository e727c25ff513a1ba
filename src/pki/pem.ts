/**
 * Strict PEM framing. An input is accepted only if it is nothing but PEM blocks and whitespace:
 * text before, between or after the blocks is refused, because a provisioning system that emits
 * junk around a certificate is broken and its output should not become a device's identity.
 *
 * Every step is linear in the size of the input. The input comes from a provisioner and is parsed
 * by a process that runs as root, so a crafted file must not buy seconds of CPU: the framing is a
 * forward scan with indexOf instead of a regex with a lazy body (which rescans to the end of the
 * input from every BEGIN line), and no regex here can backtrack over more than one line.
 * A block is `-----BEGIN L-----`, CRLF or LF, a body, `-----END L-----`, where a label L is
 * `[A-Z0-9][A-Z0-9 ]*`; the body ends at the first well-formed END marker, whatever its label.
 */
import { CertswapError, ErrorCodes, type FileRole } from '../errors.js';

export interface PemBlock {
  label: string;
  headers: Record<string, string>;
  der: Buffer;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

type Ctx = { file: FileRole; path?: string };

interface Marker {
  label: string;
  /** Index just past the marker. */
  end: number;
}

function describeBytes(data: Buffer): string {
  if (data[0] === 0x30) return 'looks like DER (binary ASN.1); certswap takes PEM';
  return 'no PEM block found';
}

/** PEM is ASCII. A NUL, another control byte or a high byte means binary input (DER, random bytes, a key store). */
function isText(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (b > 0x7e || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) return false;
  }
  return true;
}

/** Once the input is known to be text, these four are the only whitespace it can hold. */
function skipSpace(text: string, i: number): number {
  for (let c = text.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++i));
  return i;
}

function isLabelChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x20;
}

/**
 * `prefix`, a label, five dashes, at `at`. The label is read up to its first other character; no
 * marker can begin inside a label (markers begin with a dash), so the scans that follow a refused
 * marker read each byte of it at most once more.
 */
function markerAt(text: string, at: number, prefix: string): Marker | null {
  if (!text.startsWith(prefix, at)) return null;
  const start = at + prefix.length;
  const first = text.charCodeAt(start);
  if (first === 0x20 || !isLabelChar(first)) return null;
  let i = start + 1;
  while (isLabelChar(text.charCodeAt(i))) i++;
  return text.startsWith(DASHES, i) ? { label: text.slice(start, i), end: i + DASHES.length } : null;
}

/** A BEGIN line: the marker and its line end, which the body does not include. */
function beginAt(text: string, at: number): Marker | null {
  const m = markerAt(text, at, BEGIN);
  if (!m) return null;
  const lf = text.charCodeAt(m.end) === 0x0d ? m.end + 1 : m.end;
  return text.charCodeAt(lf) === 0x0a ? { label: m.label, end: lf + 1 } : null;
}

/** The first END marker at or after `from`; a malformed one (`-----END x-----`) is part of the body. */
function findEnd(text: string, from: number): (Marker & { start: number }) | null {
  for (let at = text.indexOf(END, from); at !== -1; at = text.indexOf(END, at + 1)) {
    const m = markerAt(text, at, END);
    if (m) return { ...m, start: at };
  }
  return null;
}

/**
 * Whether a whole block begins after `at`, which decides how junk at `at` is reported. Only the
 * first BEGIN line needs an END: any later one ends later, so an END after it would close the
 * first as well.
 */
function blockAfter(text: string, at: number): boolean {
  for (let b = text.indexOf(BEGIN, at + 1); b !== -1; b = text.indexOf(BEGIN, b + 1)) {
    const begin = beginAt(text, b);
    if (begin) return findEnd(text, begin.end) !== null;
  }
  return false;
}

/**
 * Splits `data` into PEM blocks, in order; `role` and `file` only name the input in error messages.
 * Raises CERTSWAP_NOT_PEM for binary input, for text outside the blocks, for an END label that
 * differs from its BEGIN label, and for a body that is not base64. Time is linear in `data.length`.
 */
export function parsePem(data: Buffer, role: FileRole, file?: string): PemBlock[] {
  const where = file ? `${role} ${file}` : role;
  const ctx: Ctx = { file: role, path: file };
  const notPem = (problem: string): CertswapError =>
    new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: ${problem}`, ctx);
  if (!isText(data)) throw notPem(describeBytes(data));
  const text = data.toString('latin1');
  const blocks: PemBlock[] = [];
  let pos = skipSpace(text, 0);
  while (pos < text.length) {
    const begin = beginAt(text, pos);
    const end = begin && findEnd(text, begin.end);
    if (!begin || !end) {
      // Junk in front of a block is named as such; junk with no block after it is reported below,
      // as no PEM at all or as text after the last block. A BEGIN line that no END closes ends
      // the scan at once: no later BEGIN line can be closed either.
      if (!begin && blockAfter(text, pos)) {
        throw notPem(`unexpected text ${blocks.length === 0 ? 'before the first PEM block' : 'between PEM blocks'}`);
      }
      break;
    }
    if (begin.label !== end.label) throw notPem(`BEGIN ${begin.label} closed by END ${end.label}`);
    blocks.push(parseBody(begin.label, text.slice(begin.end, end.start), where, ctx));
    pos = skipSpace(text, end.end);
  }
  if (blocks.length === 0) throw notPem(describeBytes(data));
  if (pos < text.length) throw notPem('unexpected text after the last PEM block');
  return blocks;
}

/** `s` without its trailing `=`. A loop, not /=+$/, which is quadratic on `A===…===A`. */
function withoutPadding(s: string): string {
  let e = s.length;
  while (e > 0 && s.charCodeAt(e - 1) === 0x3d) e--;
  return s.slice(0, e);
}

function parseBody(label: string, body: string, where: string, ctx: Ctx): PemBlock {
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
  if (der.length === 0 || withoutPadding(der.toString('base64')) !== withoutPadding(joined)) {
    const problem = `the ${label} block is empty or not valid base64`;
    throw new CertswapError(ErrorCodes.NOT_PEM, `${where}: not PEM: ${problem}`, ctx);
  }
  return { label, headers, der };
}

/** Canonical PEM: 64-column base64, LF line ends. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
