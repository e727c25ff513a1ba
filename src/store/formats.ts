/**
 * The other formats a generation can carry, for consumers that do not read cert.pem and key.pem:
 *
 * - `fullchain` -> fullchain.pem: the leaf, then the intermediates (the bytes of cert.pem, under
 *   the name certbot taught programs to expect);
 * - `bundle` -> bundle.pem: the key, the leaf, the intermediates in one file (HAProxy's `crt`);
 * - `pkcs12` -> cert.p12: key and chain under a password (Java, .NET), pki/pkcs12.ts.
 *
 * They are made in memory from the validated pair before the lock is taken, written into the
 * staging directory beside cert.pem, read back and checked with the rest, and switched by the same
 * rename: a consumer never sees a bundle from one generation beside a key from another. A file that
 * holds the key gets the key's mode and group.
 */
import { X509Certificate } from 'node:crypto';
import { CertswapError, ErrorCodes } from '../errors.js';
import { readInputFile } from '../io/input.js';
import { parsePem } from '../pki/pem.js';
import { buildPkcs12, checkPkcs12, checkPassword } from '../pki/pkcs12.js';
import type { ValidatedPair } from '../pki/validate.js';
import { BUNDLE_FILE, FULLCHAIN_FILE, PKCS12_FILE } from './layout.js';

export const FORMATS = ['fullchain', 'bundle', 'pkcs12'] as const;
export type Format = (typeof FORMATS)[number];

export function isFormat(v: unknown): v is Format {
  return (FORMATS as readonly unknown[]).includes(v);
}

/** The file each format writes, in the generation directory. */
export const FORMAT_FILES: Record<Format, string> = {
  fullchain: FULLCHAIN_FILE,
  bundle: BUNDLE_FILE,
  pkcs12: PKCS12_FILE,
};

export interface FormatOptions {
  /** Formats to write besides cert.pem and key.pem. */
  formats?: Format[];
  /** The PKCS#12 password (required with `pkcs12`): printable ASCII; a trailing newline is ignored. */
  pkcs12Password?: Buffer;
}

/** A file to stage besides the pair: its bytes, whether it holds the key, and its read-back check. */
export interface FormatFile {
  name: string;
  data: Buffer;
  holdsKey: boolean;
  /** Checks the bytes read back from disk; raises CERTSWAP_READBACK_MISMATCH. */
  check(onDisk: Buffer): void;
}

/**
 * The PKCS#12 password from `file` (a bounded read, io/input.ts): its one line, without the
 * newline (LF or CRLF) that ends it. Raises the input codes, named as the password file.
 */
export async function readPasswordFile(file: string): Promise<Buffer> {
  const data = await readInputFile(file, 'password');
  return Buffer.from(data.toString('latin1').replace(/\r?\n$/, ''), 'latin1');
}

function sameBytes(name: string, data: Buffer): (onDisk: Buffer) => void {
  return (onDisk) => {
    if (!onDisk.equals(data))
      throw new CertswapError(ErrorCodes.READBACK_MISMATCH, `${name}: read back differs from what was written`);
  };
}

/**
 * The files `opts` asks for, made from `pair`. Raises CERTSWAP_BAD_ARGUMENT for an unknown format,
 * a format given twice, pkcs12 without a password (or a password pki/pkcs12.ts refuses).
 */
export function formatFiles(pair: ValidatedPair, opts: FormatOptions): FormatFile[] {
  const formats = opts.formats ?? [];
  for (const [i, f] of formats.entries()) {
    if (!isFormat(f) || formats.indexOf(f) !== i)
      throw new CertswapError(
        ErrorCodes.BAD_ARGUMENT,
        `formats: ${JSON.stringify(f)} is unknown or repeated (${FORMATS.join(', ')})`,
      );
  }
  const out: FormatFile[] = [];
  for (const f of formats) {
    const name = FORMAT_FILES[f];
    if (f === 'pkcs12') {
      const password = opts.pkcs12Password;
      if (password === undefined)
        throw new CertswapError(ErrorCodes.BAD_ARGUMENT, 'formats: pkcs12 needs a password (pkcs12.passwordFile)');
      checkPassword(password);
      const chain = parsePem(Buffer.from(pair.certPem), 'cert').map((b) => new X509Certificate(b.der).raw);
      const data = buildPkcs12(pair.keyPem, chain, password);
      // The file as built is checked as a consumer would open it, then the read-back against it.
      checkPkcs12(data, password, pair.keyPem, chain);
      out.push({ name, data, holdsKey: true, check: sameBytes(name, data) });
      continue;
    }
    const data = Buffer.from(f === 'bundle' ? pair.keyPem + pair.certPem : pair.certPem);
    out.push({ name, data, holdsKey: f === 'bundle', check: sameBytes(name, data) });
  }
  return out;
}
