/**
 * The little DER that PKCS#12 needs (pkcs12.ts): encode a value with its tag and length, and walk
 * an encoding back into its elements. Definite lengths only, as DER requires; anything malformed
 * is refused rather than guessed at.
 */

export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [0] EXPLICIT, constructed. */
  CONTEXT_0: 0xa0,
} as const;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element: tag, length, and the content (for a constructed tag, the concatenated children). */
export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

export const seq = (...children: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...children);
export const set = (...children: Uint8Array[]): Buffer => tlv(TAG.SET, ...children);
export const octets = (data: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, data);
export const explicit0 = (inner: Uint8Array): Buffer => tlv(TAG.CONTEXT_0, inner);

/** A small non-negative INTEGER. */
export function integer(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const b = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

/** An element found by `read`: its tag, its content, and the whole encoding. */
export interface Element {
  tag: number;
  content: Buffer;
  encoded: Buffer;
}

function malformed(what: string): Error {
  return new Error(`malformed DER: ${what}`);
}

/** The element that starts at `offset` of `buf`. */
export function read(buf: Buffer, offset = 0): Element {
  if (offset + 2 > buf.length) throw malformed('truncated header');
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) throw malformed('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  if (start + len > buf.length) throw malformed('element runs past its parent');
  return { tag, content: buf.subarray(start, start + len), encoded: buf.subarray(offset, start + len) };
}

/** The children of a constructed element, each checked to fit exactly. */
export function children(el: Element, expectTag?: number): Element[] {
  if (expectTag !== undefined && el.tag !== expectTag)
    throw malformed(`tag 0x${el.tag.toString(16)} where 0x${expectTag.toString(16)} belongs`);
  const out: Element[] = [];
  for (let off = 0; off < el.content.length; ) {
    const child = read(el.content, off);
    out.push(child);
    off += child.encoded.length;
  }
  return out;
}
