/**
 * PEM framing: the linear scanner in src/pki/pem.ts must accept and refuse exactly what the regex
 * framing it replaced did (same blocks, same code, same message), and stay linear on the inputs
 * that made the regex quadratic.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createPrivateKey } from 'node:crypto';
import { type CertswapError, ErrorCodes } from '../../../src/errors.js';
import { isCertswapError } from '../../../src/index.js';
import { encodePem, parsePem, type PemBlock } from '../../../src/pki/pem.js';
import { makePair } from '../../helpers/certs.js';
import { regexParsePem } from '../../../bench/pem-regex.js';

// The reference: parsePem before the rewrite, kept unchanged for the benchmark's "before".
const oldParsePem = regexParsePem;

// ---- Helpers. ----

type Outcome = { blocks: PemBlock[] } | { code: string; message: string; file?: string; path?: string };

function outcome(parse: typeof parsePem, data: Buffer, file?: string): Outcome {
  try {
    return { blocks: parse(data, 'cert', file) };
  } catch (err) {
    expect(isCertswapError(err), String(err)).to.equal(true);
    const e = err as CertswapError;
    return { code: e.code, message: e.message, file: e.file, path: e.path };
  }
}

function sameAsBefore(data: Buffer, file?: string): Outcome {
  const now = outcome(parsePem, data, file);
  expect(now, JSON.stringify(data.toString('latin1').slice(0, 300))).to.deep.equal(outcome(oldParsePem, data, file));
  return now;
}

function refused(data: Buffer, mention: RegExp): void {
  const o = outcome(parsePem, data);
  expect(o).to.have.property('code', ErrorCodes.NOT_PEM);
  expect((o as { message: string }).message).to.match(mention);
}

const MiB = 1024 * 1024;
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
/** `unit` repeated to fill `size` bytes, less `reserve`. */
const fill = (unit: string, size: number, reserve = 0): string =>
  unit.repeat(Math.floor((size - reserve) / unit.length));

/** The shapes that made the regex framing (or its base64 check) quadratic, and their neighbours. */
function adversarial(size: number): Record<string, { input: string; mention: RegExp | null }> {
  const beginA = '-----BEGIN A-----\n';
  const endA = '-----END A-----\n';
  const endX = '-----END X-----\n';
  const cert = encodePem('CERTIFICATE', Buffer.from('a certificate of sorts'));
  return {
    'BEGIN lines': { input: fill('-----BEGIN A-----\n', size), mention: /no PEM block found/ },
    'BEGIN lines, CRLF': { input: fill('-----BEGIN A-----\r\n', size), mention: /no PEM block found/ },
    'junk, then BEGIN lines': { input: `junk\n${fill('-----BEGIN A-----\n', size, 5)}`, mention: /no PEM block found/ },
    'a block, then BEGIN lines': { input: cert + fill(beginA, size, cert.length), mention: /after the last/ },
    'BEGIN lines, a valid END at the very end': {
      input: fill('-----BEGIN A-----\n', size, endA.length) + endA,
      mention: /the A block is not valid base64/,
    },
    'nested BEGIN': {
      input: `${fill('-----BEGIN A-----\n', size / 2)}QUFB\n${fill(endA, size / 2, 5)}`,
      mention: /the A block is not valid base64/,
    },
    'BEGIN and malformed END lines': { input: fill(`${beginA}-----END a-----\n`, size), mention: /no PEM block found/ },
    'END lines': { input: fill(endX, size), mention: /no PEM block found/ },
    'END lines, then a block': { input: fill(endX, size, cert.length) + cert, mention: /before the first/ },
    'a block, then END lines': { input: cert + fill(endX, size, cert.length), mention: /after the last/ },
    'padding lines': {
      input: `-----BEGIN A-----\nQUFB\n${fill('==\n', size, 50)}QQ\n${endA}`,
      mention: /the A block is empty or not valid base64/,
    },
    'a huge line of base64': {
      input: `-----BEGIN A-----\n${'QUFB'.repeat(Math.floor((size - 40) / 4))}\n${endA}`,
      mention: null,
    },
    'a huge line of junk': { input: 'A'.repeat(size), mention: /no PEM block found/ },
    'a huge label': { input: `-----BEGIN ${'A'.repeat(size - 20)}`, mention: /no PEM block found/ },
    'many small blocks': { input: fill('-----BEGIN A-----\nQQ==\n-----END A-----\n', size), mention: null },
  };
}

/**
 * Characters that string built-ins were asked to go through while `fn` ran: a count of work that
 * needs no clock. It sees the scanner's indexOf/charCodeAt/slice calls, not a regex's backtracking.
 */
function countWork(fn: () => void): number {
  const proto = String.prototype as unknown as Record<string, (this: string, ...a: never[]) => unknown>;
  const cost: Record<string, (s: string, args: unknown[], r: unknown) => number> = {
    indexOf: (s, [needle, from], r) =>
      ((r as number) === -1 ? s.length : (r as number) + (needle as string).length) - Number(from ?? 0),
    startsWith: (_s, [needle]) => (needle as string).length,
    charCodeAt: () => 1,
    slice: (_s, _a, r) => (r as string).length,
    trim: (s) => s.length,
    split: (s) => s.length,
    includes: (s) => s.length,
  };
  const saved = Object.fromEntries(Object.keys(cost).map((k) => [k, proto[k]!]));
  let work = 0;
  for (const [name, c] of Object.entries(cost)) {
    const original = saved[name]!;
    proto[name] = function (this: string, ...args: never[]) {
      const r = original.apply(this, args);
      work += Math.max(1, c(this, args, r));
      return r;
    };
  }
  try {
    fn();
  } finally {
    Object.assign(proto, saved);
  }
  return work;
}

// ---- Tests. ----

describe('pem', function () {
  this.timeout(60_000);
  let corpus: [string, Buffer][];

  before(async () => {
    const ec = await makePair();
    const chain = Buffer.concat([ec.cert, ec.ca]);
    const legacy = createPrivateKey(ec.key).export({
      type: 'sec1',
      format: 'pem',
      cipher: 'aes-128-cbc',
      passphrase: 'x',
    });
    const certText = ec.cert.toString('latin1');
    const crlf = (s: string): string => s.replace(/\n/g, '\r\n');
    corpus = [
      ['a certificate', ec.cert],
      ['a chain', chain],
      ['a key', ec.key],
      ['a legacy encrypted key, with headers', b(legacy as string)],
      ['CRLF', b(crlf(chain.toString('latin1')))],
      ['CRLF only after BEGIN', b(certText.replace('-----\n', '-----\r\n'))],
      ['no final newline', b(certText.trimEnd())],
      ['blank lines and tabs around', b(`\n \t\r\n${certText}\n\n\t ${ec.ca.toString('latin1')}  \n`)],
      ['blocks back to back', b(certText.trimEnd() + ec.ca.toString('latin1'))],
      ['junk before', b(`subject=CN=x\n${certText}`)],
      ['junk between', b(`${certText}junk\n${ec.ca.toString('latin1')}`)],
      ['junk after', b(`${certText}trailer\n`)],
      ['junk after a BEGIN line with no END', b(`${certText}-----BEGIN A-----\n`)],
      ['junk before a BEGIN line with no END', b(`junk\n-----BEGIN A-----\nQQ==\n`)],
      ['DER', b('0\x82junk')],
      ['text starting with 0', b('0 is not PEM')],
      ['random bytes', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x99])],
      ['a NUL', b(`${certText}\0`)],
      ['a vertical tab', b(`\v${certText}`)],
      ['empty', b('')],
      ['whitespace only', b(' \n\t\r\n')],
      ['label mismatch', b(certText.replace('END CERTIFICATE', 'END CERTIFICATES'))],
      ['lowercase label', b(certText.replace(/CERTIFICATE/g, 'Certificate'))],
      ['label with a trailing space', b(certText.replace(/CERTIFICATE-/g, 'CERTIFICATE -'))],
      ['label starting with a space', b(certText.replace(/CERTIFICATE-/g, ' CERTIFICATE-'))],
      ['six dashes after BEGIN', b(certText.replace('CERTIFICATE-----', 'CERTIFICATE------'))],
      ['six dashes after END', b(certText.replace(/CERTIFICATE-----\n$/, 'CERTIFICATE------\n'))],
      ['BEGIN line with text after it', b(certText.replace('CERTIFICATE-----\n', 'CERTIFICATE----- x\n'))],
      ['no END', b(certText.replace(/-----END.*\n$/, ''))],
      ['a malformed END inside the body', b(certText.replace('\n', '\n-----END x-----\n'))],
      ['nested BEGIN', b(`-----BEGIN CERTIFICATE-----\n${certText}-----END CERTIFICATE-----\n`)],
      ['overlapping markers', b('------END -----BEGIN A-----\nQQ==\n------END -----END A-----')],
      ['bad base64', b(certText.replace(/\n[A-Za-z]/, '\n*'))],
      ['padding in the middle', b('-----BEGIN A-----\nQUFB\n==\nQQ\n-----END A-----\n')],
      ['empty body', b('-----BEGIN A-----\n-----END A-----\n')],
      ['a colon in the last line only', b('-----BEGIN A-----\nQQ==\nx: y\n-----END A-----\n')],
    ];
  });

  it('accepts and refuses what the regex framing did, with the same codes and messages (corpus)', () => {
    let accepted = 0;
    for (const [name, data] of corpus) {
      const o = sameAsBefore(data, name === 'a chain' ? 'chain.pem' : undefined);
      if ('blocks' in o) accepted++;
    }
    expect(accepted).to.equal(10);
  });

  it('accepts and refuses what the regex framing did (generated input)', () => {
    const token = fc.constantFrom(
      ...['-----BEGIN ', '-----END ', '-----', '-', 'A', 'B', 'A B', ' ', '\n', '\r\n', '\r', '\t', '\0', 'x', '0'],
      ...['QUFB', 'QQ==', '==', '=', ':', 'Proc-Type: 4,ENCRYPTED\n', 'CERTIFICATE'],
      ...['-----BEGIN A-----\n', '-----END A-----', '-----END B-----'],
    );
    const soup = fc.array(token, { maxLength: 40 }).map((ts) => b(ts.join('')));
    const label = fc.constantFrom('A', 'B', 'CERTIFICATE', 'EC PRIVATE KEY', 'A ', ' A', 'a', '');
    const bodyLine = fc.constantFrom('QUFB', 'QQ==', 'QUE=', '==', '', '  QUFB ', 'Q', 'x: y', '*', '-----END x-----');
    const block = fc
      .record({
        begin: label,
        end: label,
        nl: fc.constantFrom('\n', '\r\n', '', '\r'),
        body: fc.array(bodyLine, { maxLength: 6 }),
        eol: fc.constantFrom('\n', '\r\n', ''),
      })
      .map((r) => `-----BEGIN ${r.begin}-----${r.nl}${r.body.map((l) => l + r.eol).join('')}-----END ${r.end}-----`);
    const between = fc.constantFrom('', '\n', '\r\n', ' \t\n', 'junk', '\n-----BEGIN A-----\n', '-----END A-----', '0');
    const blocks = fc
      .array(fc.tuple(between, block), { maxLength: 4 })
      .chain((bs) => between.map((tail) => b(bs.map(([gap, blk]) => gap + blk).join('') + tail)));
    const mutated = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 127 }), fc.nat()).map(([at, byte, cut]) => {
      const c = Buffer.from(corpus[1]![1]);
      c[at % c.length] = byte;
      return c.subarray(0, c.length - (cut % 64));
    });
    fc.assert(
      fc.property(fc.oneof(soup, blocks, mutated), (data) => {
        sameAsBefore(data);
      }),
      { numRuns: Number(process.env.CERTSWAP_FUZZ_RUNS ?? 3000) },
    );
  });

  it('treats adversarial input like the regex framing did (16 KiB, where the regex is still quick)', () => {
    for (const [name, { input }] of Object.entries(adversarial(16 * 1024))) {
      const o = sameAsBefore(b(input));
      expect(o, name).to.not.have.property('code', 'CERTSWAP_INTERNAL');
    }
  });

  it('refuses or parses 1 MiB of adversarial input', () => {
    for (const [name, { input, mention }] of Object.entries(adversarial(MiB))) {
      expect(input.length, name).to.be.within(MiB - 64, MiB);
      if (mention) {
        refused(b(input), mention);
      } else {
        const blocks = parsePem(b(input), 'cert');
        expect(blocks.length, name).to.be.greaterThan(0);
        expect(
          blocks.every((x) => x.label === 'A'),
          name,
        ).to.equal(true);
      }
    }
  });

  it('does twice the work, not four times, for twice the input', () => {
    const [small, large] = [adversarial(256 * 1024), adversarial(512 * 1024)];
    for (const name of Object.keys(small)) {
      const [w1, w2] = [small, large].map((shape) => countWork(() => outcome(parsePem, b(shape[name]!.input))));
      expect(w1, name).to.be.greaterThan(128 * 1024);
      expect(w2! / w1!, `${name}: ${w1} then ${w2}`).to.be.below(2.2);
    }
  });
});
