/**
 * PKCS#12 (RFC 7292) for Java and .NET consumers, written in memory from the validated pair: the
 * key never touches a temporary file or another process. Node has no PKCS#12 writer, and
 * node-forge's only wraps RSA keys; this writes what `openssl pkcs12 -export -certpbe NONE`
 * does since OpenSSL 3 (by default OpenSSL also encrypts the certificate bags; they are public,
 * and Java, .NET and OpenSSL read them either way):
 *
 * - the key as a pkcs8ShroudedKeyBag: PBES2, AES-256-CBC, PBKDF2 with HMAC-SHA256 (Node's own
 *   encrypted PKCS#8 export, any key type certswap accepts);
 * - the leaf, then each intermediate, as certBags; the leaf and the key carry the same localKeyId
 *   (SHA-1 of the leaf, as OpenSSL sets it), which is how Java pairs a key with its chain;
 * - an HMAC-SHA256 over the contents, its key derived with the PKCS#12 KDF (appendix B).
 *
 * checkPkcs12 reads such a file back: the MAC holds for the password, the key decrypts to the
 * pair's key, the certificates are the chain. Raises CERTSWAP_BAD_ARGUMENT for a password that
 * is not printable ASCII (the one encoding OpenSSL, Java and .NET agree on for both the MAC's
 * BMPString and PBES2's bytes).
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { CertswapError, ErrorCodes } from '../errors.js';
import { children, explicit0, integer, octets, oid, read, seq, set, TAG, tlv } from './der.js';

const OID = {
  data: '1.2.840.113549.1.7.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  localKeyId: '1.2.840.113549.1.9.21',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** PBKDF2 and MAC iterations: OpenSSL's default for both (PKCS5_DEFAULT_ITER). */
const ITERATIONS = 2048;
const MAC_SALT_BYTES = 16;
/** SHA-256's output (u) and block (v) sizes, for the KDF. */
const U = 32;
const V = 64;
/** The KDF's purpose byte for a MAC key (RFC 7292 B.3). */
const ID_MAC = 3;

/** The password as the file holds it, refused unless printable ASCII, 1 to 1024 characters. */
export function checkPassword(password: Buffer): void {
  if (password.length === 0 || password.length > 1024 || !password.every((b) => b >= 0x20 && b <= 0x7e)) {
    throw new CertswapError(
      ErrorCodes.BAD_ARGUMENT,
      'the PKCS#12 password must be 1 to 1024 printable ASCII characters (one line; its newline is ignored)',
    );
  }
}

/** The password as a NUL-terminated BMPString (UTF-16BE), as the PKCS#12 KDF takes it. */
function bmp(password: Buffer): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out[2 * i + 1] = password[i]!;
  return out;
}

/** RFC 7292 appendix B.2 with SHA-256: `n` bytes of key material for purpose `id`. */
function kdf(password: Buffer, salt: Buffer, id: number, iterations: number, n: number): Buffer {
  const fill = (src: Buffer): Buffer => {
    const len = V * Math.ceil(src.length / V);
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = Buffer.alloc(V, id);
  const I = Buffer.concat([fill(salt), fill(bmp(password))]);
  const out: Buffer[] = [];
  for (let made = 0; made < n; made += U) {
    let A = createHash('sha256').update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash('sha256').update(A).digest();
    out.push(A);
    // I_j = (I_j + B + 1) mod 2^(8v), B being A repeated to v bytes: the next block's input.
    const B = fill(A);
    for (let j = 0; j < I.length; j += V) {
      let carry = 1;
      for (let k = V - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, n);
}

function mac(authSafe: Buffer, password: Buffer, salt: Buffer, iterations: number): Buffer {
  return createHmac('sha256', kdf(password, salt, ID_MAC, iterations, U))
    .update(authSafe)
    .digest();
}

const dataInfo = (content: Buffer): Buffer => seq(oid(OID.data), explicit0(octets(content)));
const localKeyId = (id: Buffer): Buffer => set(seq(oid(OID.localKeyId), set(octets(id))));

/**
 * The PKCS#12 file for `keyPem` and `chain` (DER, the leaf first), protected by `password`.
 * Raises CERTSWAP_BAD_ARGUMENT for a password checkPassword refuses.
 */
export function buildPkcs12(keyPem: string, chain: Buffer[], password: Buffer): Buffer {
  checkPassword(password);
  const id = createHash('sha1').update(chain[0]!).digest();
  const shrouded = createPrivateKey(keyPem).export({
    type: 'pkcs8',
    format: 'der',
    cipher: 'aes-256-cbc',
    passphrase: password,
  });
  const certBags = chain.map((der, i) =>
    seq(
      oid(OID.certBag),
      explicit0(seq(oid(OID.x509Certificate), explicit0(octets(der)))),
      ...(i === 0 ? [localKeyId(id)] : []),
    ),
  );
  const keyBag = seq(oid(OID.shroudedKeyBag), explicit0(shrouded), localKeyId(id));
  const authSafe = seq(dataInfo(seq(...certBags)), dataInfo(seq(keyBag)));
  const salt = randomBytes(MAC_SALT_BYTES);
  const macData = seq(
    seq(seq(oid(OID.sha256), tlv(TAG.NULL)), octets(mac(authSafe, password, salt, ITERATIONS))),
    octets(salt),
    integer(ITERATIONS),
  );
  return seq(integer(3), dataInfo(authSafe), macData);
}

function invalid(problem: string): CertswapError {
  return new CertswapError(ErrorCodes.READBACK_MISMATCH, `cert.p12: ${problem}`);
}

/** The content of a ContentInfo of type data. */
function dataContent(el: ReturnType<typeof read>): Buffer {
  const [type, content] = children(el, TAG.SEQUENCE);
  if (!type?.encoded.equals(oid(OID.data)) || !content) throw invalid('a ContentInfo that is not data');
  return read(children(content, TAG.CONTEXT_0)[0]!.encoded).content;
}

/**
 * Reads `p12` back as a consumer would: the MAC must hold for `password`, the key bag must decrypt
 * to `keyPem`'s key, and the certificate bags must be `chain`, in order. Raises
 * CERTSWAP_READBACK_MISMATCH naming what differs.
 */
export function checkPkcs12(p12: Buffer, password: Buffer, keyPem: string, chain: Buffer[]): void {
  let opened: { key: KeyObject; certs: Buffer[] };
  try {
    opened = openPkcs12(p12, password);
  } catch (err) {
    // Our own file, just made: anything malformed in it is a fault to report, not to explain.
    throw err instanceof CertswapError ? err : invalid((err as Error).message);
  }
  const { key, certs } = opened;
  const publicDer = (k: KeyObject | string): Buffer => createPublicKey(k).export({ type: 'spki', format: 'der' });
  if (!publicDer(key).equals(publicDer(keyPem))) throw invalid("the key is not the pair's key");
  if (certs.length !== chain.length || certs.some((c, i) => !c.equals(chain[i]!)))
    throw invalid('the certificates are not the chain');
  if (!new X509Certificate(certs[0]!).checkPrivateKey(key)) throw invalid('the key does not match the leaf');
}

/** The key and certificates of a file buildPkcs12 wrote, after its MAC is verified with `password`. */
function openPkcs12(p12: Buffer, password: Buffer): { key: KeyObject; certs: Buffer[] } {
  const [, authSafeInfo, macData] = children(read(p12), TAG.SEQUENCE);
  if (!authSafeInfo || !macData) throw invalid('no contents or no MAC');
  const authSafe = dataContent(authSafeInfo);
  const [digestInfo, salt, iterations] = children(macData, TAG.SEQUENCE);
  const expected = read(children(digestInfo!, TAG.SEQUENCE)[1]!.encoded).content;
  const rounds = iterations ? iterations.content.reduce((n, b) => n * 256 + b, 0) : 1;
  if (!mac(authSafe, password, salt!.content, rounds).equals(expected)) throw invalid('the MAC does not verify');
  const certs: Buffer[] = [];
  let key: Buffer | undefined;
  for (const info of children(read(authSafe), TAG.SEQUENCE)) {
    for (const bag of children(read(dataContent(info)), TAG.SEQUENCE)) {
      const [type, value] = children(bag, TAG.SEQUENCE);
      const inner = children(value!, TAG.CONTEXT_0)[0]!;
      if (type!.encoded.equals(oid(OID.shroudedKeyBag))) key = inner.encoded;
      else if (type!.encoded.equals(oid(OID.certBag)))
        certs.push(read(children(children(inner, TAG.SEQUENCE)[1]!, TAG.CONTEXT_0)[0]!.encoded).content);
    }
  }
  if (!key) throw invalid('no key');
  return { key: createPrivateKey({ key, format: 'der', type: 'pkcs8', passphrase: password }), certs };
}
