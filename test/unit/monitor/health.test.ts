import { expect } from 'chai';
import { certificateHealth, overallHealth } from '../../../src/monitor/health.js';
import type { StoreStatus } from '../../../src/store/ops/status.js';

const NOW = Date.parse('2030-01-10T00:00:00Z');
const HOUR = 3_600_000;

function status(active: Partial<StoreStatus['generations'][number]> | null): StoreStatus {
  return {
    dir: '/d',
    current: active ? 1 : null,
    previous: null,
    trial: null,
    generations: active ? [{ id: 1, active: true, rollbackTarget: false, valid: true, ...active }] : [],
    problems: [],
  };
}

describe('monitor/health', () => {
  const fine = { notBefore: '2030-01-01T00:00:00Z', notAfter: '2030-02-01T00:00:00Z' };

  it('is healthy with a valid active pair and no failure streak, or a streak shorter than the limit', () => {
    expect(certificateHealth('a', status(fine), null, NOW, HOUR)).to.deep.equal({ name: 'a', healthy: true });
    expect(certificateHealth('a', status(fine), NOW - HOUR, NOW, HOUR).healthy).to.equal(true);
  });

  it('fails with nothing active, an invalid or an expired active pair, or renewals failing for too long', () => {
    expect(certificateHealth('a', status(null), null, NOW, HOUR).problem).to.equal('no active generation');
    const bad = certificateHealth(
      'a',
      status({ ...fine, valid: false, problem: 'CERTSWAP_KEY_MISMATCH' }),
      null,
      NOW,
      HOUR,
    );
    expect(bad.problem).to.match(/CERTSWAP_KEY_MISMATCH/);
    // Valid when status read it, expired by the time of the check.
    const expired = certificateHealth('a', status({ ...fine, notAfter: '2030-01-09T23:59:59Z' }), null, NOW, HOUR);
    expect(expired).to.deep.include({ healthy: false });
    expect(expired.problem).to.match(/CERTSWAP_EXPIRED/);
    const failing = certificateHealth('a', status(fine), NOW - HOUR - 1, NOW, HOUR);
    expect(failing.healthy).to.equal(false);
    expect(failing.problem).to.match(/renewals failing since 2030-01-09T22:59:59.999Z/);
  });

  it('is healthy overall only when every certificate is', () => {
    const ok = { name: 'a', healthy: true };
    expect(overallHealth([ok, ok]).healthy).to.equal(true);
    expect(overallHealth([ok, { name: 'b', healthy: false, problem: 'x' }]).healthy).to.equal(false);
    expect(overallHealth([]).healthy).to.equal(true);
  });
});
