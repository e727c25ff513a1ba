/**
 * The shipped alert rules: valid for Prometheus (`promtool check rules`), and behaving as
 * certswap-rules.test.yml says (`promtool test rules`: each alert fires after its `for:` and not
 * before, and stops when the cause ends). Both with Debian's promtool (package prometheus).
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { METRIC } from '../../src/monitor/metrics.js';
import { which } from '../helpers/proc.js';

const DIR = path.resolve(import.meta.dirname, '..', '..', 'scripts', 'prometheus');
const RULES = path.join(DIR, 'certswap-rules.yml');

function promtool(): string | null {
  const bin = which('promtool');
  if (!bin && process.env.CI) throw new Error('promtool is missing (.ci/run installs Debian prometheus)');
  return bin;
}

describe('alert rules (scripts/prometheus)', () => {
  it('are valid and pass their unit tests with promtool', function () {
    const bin = promtool();
    if (!bin) this.skip();
    const check = spawnSync(bin, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).to.equal(0);
    const test = spawnSync(bin, ['test', 'rules', path.join(DIR, 'certswap-rules.test.yml')], { encoding: 'utf8' });
    expect(test.status, test.stdout + test.stderr).to.equal(0);
    expect(test.stdout).to.match(/SUCCESS/);
  });

  it('hold the alerts the docs name, each with a test, over metrics the agent exports', async () => {
    const rules = (
      parse(await fse.readFile(RULES, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }
    ).groups[0]!.rules;
    const names = rules.map((r) => r.alert);
    for (const a of [
      'CertswapCertificateExpiringSoon',
      'CertswapRenewalFailing',
      'CertswapTrialStuck',
      'CertswapAgentDown',
    ]) {
      expect(names).to.include(a);
    }
    const tests = await fse.readFile(path.join(DIR, 'certswap-rules.test.yml'), 'utf8');
    const docs = await fse.readFile(path.resolve(DIR, '..', '..', 'docs', 'monitoring.md'), 'utf8');
    const exported = new Set<string>(Object.values(METRIC));
    for (const r of rules) {
      expect(tests, `a test of ${r.alert}`).to.contain(`alertname: ${r.alert}`);
      expect(docs, `docs/monitoring.md names ${r.alert}`).to.contain(r.alert);
      for (const [m] of r.expr.matchAll(/certswap_[a-z_]+/g))
        expect(exported.has(m), `${r.alert}: ${m}`).to.equal(true);
    }
  });
});
