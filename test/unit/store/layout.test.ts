/** Names of the on-disk contract: generation numbers, link targets, leftover names. */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  MAX_GENERATION,
  generationFromLinkTarget,
  isGenerationName,
  isTempEntry,
  linkTargetFor,
  parseGeneration,
  provisionName,
  stagingName,
  trashName,
} from '../../../src/store/layout.js';

describe('layout names', () => {
  it('a generation number has exactly one spelling, and round-trips through its link target', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_GENERATION }), (n) => {
        expect(isGenerationName(String(n))).to.equal(true);
        expect(parseGeneration(String(n))).to.equal(n);
        expect(generationFromLinkTarget(linkTargetFor(n))).to.equal(n);
      }),
    );
    for (const bad of ['0', '01', '-1', '1e3', '1.0', ' 1', '1 ', '', '9007199254740992', '../1', '1/..', '0x1']) {
      expect(isGenerationName(bad), bad).to.equal(false);
    }
  });

  it('a link target is a generation only when it is exactly generations/<n>', () => {
    for (const t of [
      'generations/2/',
      './generations/2',
      '/abs/generations/2',
      'generations/02',
      'generations/2/..',
      'gen/2',
      'generations//2',
    ]) {
      expect(generationFromLinkTarget(t), t).to.equal(null);
    }
  });

  it('names made for staging, trash, work directories and temporary files are never generation names', () => {
    for (const name of [stagingName(), trashName(3), provisionName()]) {
      expect(isGenerationName(name), name).to.equal(false);
      expect(name.startsWith('.')).to.equal(true);
    }
    expect(isTempEntry('.current.tmp-12-abcdef')).to.equal(true);
    expect(isTempEntry('.history.tmp-1-0f')).to.equal(true);
    expect(isTempEntry('current.tmp-12-abcdef')).to.equal(false);
    expect(isTempEntry('.history')).to.equal(false);
  });
});
