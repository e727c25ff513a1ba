/** Key types: the one rule for which keys are accepted, described and reused. */
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { KEY_TYPES, describeKey, keyTypeOf, unsupportedKey } from '../../../src/pki/key-types.js';

describe('key types', () => {
  it('key types: what is accepted, how it is described, which type a key to reuse is', () => {
    const cases: Array<[Parameters<typeof generateKeyPairSync>, string, string | null, boolean]> = [
      [['ec', { namedCurve: 'P-256' }] as never, 'EC P-256', 'P-256', true],
      [['ec', { namedCurve: 'P-384' }] as never, 'EC P-384', 'P-384', true],
      [['ec', { namedCurve: 'secp256k1' }] as never, 'EC secp256k1', null, false],
      [['ed25519', {}] as never, 'Ed25519', 'Ed25519', true],
      [['rsa', { modulusLength: 2048 }] as never, 'RSA 2048', 'RSA-2048', true],
      [['rsa', { modulusLength: 1024 }] as never, 'RSA 1024', null, false],
    ];
    for (const [args, described, type, accepted] of cases) {
      const { privateKey } = (
        generateKeyPairSync as (...a: unknown[]) => { privateKey: import('node:crypto').KeyObject }
      )(...args);
      expect(describeKey(privateKey)).to.equal(described);
      expect(keyTypeOf(privateKey)).to.equal(type);
      expect(unsupportedKey(privateKey) === null, described).to.equal(accepted);
      if (type !== null) expect(KEY_TYPES).to.include(type);
    }
  });
});
