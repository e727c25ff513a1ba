/**
 * The Grafana dashboard's shape: the panels the docs promise, over metrics the agent exports,
 * with the template variables the live test substitutes. (That every query runs and returns data
 * is test/monitor/prometheus.test.ts, against a real Prometheus.)
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { METRIC } from '../../src/monitor/metrics.js';
import { grafanaExpr } from '../helpers/prometheus.js';

const FILE = path.resolve(import.meta.dirname, '..', '..', 'scripts', 'grafana', 'certswap-dashboard.json');

describe('Grafana dashboard (scripts/grafana)', () => {
  it('has days to expiry, renewals, failures and the active generation, over exported metrics only', async () => {
    const d = (await fse.readJson(FILE)) as {
      uid: string;
      panels: Array<{ id: number; title: string; targets: Array<{ expr: string }> }>;
      templating: { list: Array<{ name: string }> };
    };
    const titles = d.panels.map((p) => p.title);
    for (const t of ['Days to expiry', 'Renewals', 'Renewal failures by certificate', 'Active generation']) {
      expect(titles).to.include(t);
    }
    expect(new Set(d.panels.map((p) => p.id)).size).to.equal(d.panels.length);
    expect(d.templating.list.map((v) => v.name)).to.deep.equal(['datasource', 'job', 'instance']);
    const exported = new Set<string>(Object.values(METRIC));
    for (const p of d.panels) {
      expect(p.targets.length, p.title).to.be.above(0);
      for (const { expr } of p.targets) {
        // Every variable is one the live test replaces: no query reaches Prometheus with a `$` left.
        expect(grafanaExpr(expr), expr).to.not.contain('$');
        for (const [m] of expr.matchAll(/certswap_[a-z_]+/g)) {
          expect(exported.has(m.replace(/_bucket$/, '')), `${p.title}: ${m}`).to.equal(true);
        }
      }
    }
  });
});
