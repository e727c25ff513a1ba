/**
 * The real thing: Debian's prometheus scrapes a `certswap agent` process (the built CLI) that
 * rotates a 10-second certificate from a local CA, and node_exporter's textfile collector reading
 * the agent's `metrics.textfile`; a second certificate's CA is down (a closed loopback port).
 * Through Prometheus's HTTP API: the expiry gauge equals the active certificate's notAfter after
 * each rotation, the renewal counter rises, the failures are counted and turn into a firing
 * CertswapRenewalFailing alert, the textfile's series arrive through node_exporter, and every
 * query of the Grafana dashboard runs and returns data. The dashboard's picture is drawn from
 * these series (docs/monitoring.md#dashboard; CERTSWAP_WRITE_DASHBOARD=1 writes it to docs/).
 *
 * The rules are the shipped file's, with one change, made here: every `for:` is cut to 0s, since
 * this run lasts seconds, not the half hour a real fleet waits; the expressions are unchanged
 * (their timing is certswap-rules.test.yml's job, under promtool's simulated clock).
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore } from '../../src/index.js';
import { certswap, freePort, until } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { CA_DOWN, LOCAL_CA, certificateYaml, startAgent, type AgentProcess } from '../helpers/agent-proc.js';
import {
  api,
  query,
  startNodeExporter,
  startPrometheus,
  tool,
  grafanaExpr,
  type PromSample,
  type Server,
} from '../helpers/prometheus.js';
import { renderDashboard, type PanelData } from '../helpers/dashboard-svg.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RULES = path.join(ROOT, 'scripts', 'prometheus', 'certswap-rules.yml');
const DASHBOARD = path.join(ROOT, 'scripts', 'grafana', 'certswap-dashboard.json');

interface Dashboard {
  panels: Array<{
    title: string;
    type: 'timeseries' | 'bargauge';
    fieldConfig: { defaults: { unit: string } };
    targets: Array<{ expr: string; legendFormat: string; instant?: boolean }>;
  }>;
}

function legendOf(format: string, metric: Record<string, string>): string {
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => metric[k] ?? '').trim() || JSON.stringify(metric);
}

describe('monitoring with a real Prometheus and node_exporter', function () {
  this.timeout(120_000);

  it('scrapes a rotating agent: expiry = notAfter after each rotation, counters, a firing alert, the textfile, the dashboard', async function () {
    const prometheusBin = tool('prometheus');
    const exporterBin = tool('prometheus-node-exporter');
    if (!prometheusBin || !exporterBin) this.skip();
    const dir = await tempDir();
    const textDir = path.join(dir, 'textfile');
    await fse.mkdirp(textDir);
    const rules = path.join(dir, 'rules.yml');
    await fse.writeFile(rules, (await fse.readFile(RULES, 'utf8')).replace(/^(\s+)for: \S+$/gm, '$1for: 0s'));
    const agentPort = await freePort();
    const config = path.join(dir, 'agent.yaml');
    await fse.writeFile(
      config,
      `metrics: { listen: "127.0.0.1:${agentPort}", textfile: textfile/certswap.prom }
certificates:
${certificateYaml('device', 'store', LOCAL_CA('10s'), '    renew: { from: 0.5, to: 0.6 }\n    keep: 20\n')}${certificateYaml('gateway', 'store2', CA_DOWN)}`,
    );
    // Writing the picture for docs/ runs longer, for more rotations in it.
    const picture = process.env.CERTSWAP_WRITE_DASHBOARD === '1';
    const servers: Array<Server | AgentProcess> = [];
    try {
      const agent = startAgent(config);
      servers.push(agent);
      const exporter = await startNodeExporter(exporterBin, textDir);
      servers.push(exporter);
      const prom = await startPrometheus(
        prometheusBin,
        dir,
        { certswap: `127.0.0.1:${agentPort}`, node: exporter.url.replace('http://', '') },
        rules,
      );
      servers.push(prom);
      const started = Date.now() / 1000;
      const storeDir = path.join(dir, 'store');
      await until('the agent to create its store', () => fse.pathExists(path.join(storeDir, 'current')));
      const store = await GenerationStore.open(storeDir, { create: false });

      // 1. After each rotation Prometheus sees, the expiry it scraped is the notAfter of the
      //    generation it scraped as active (both from one scrape: queried at the same instant).
      const checked = new Map<number, number>();
      await until(
        'three rotations seen by Prometheus',
        async () => {
          const t = Date.now() / 1000;
          const [gen] = await query(prom, 'certswap_active_generation{job="certswap",name="device"}', t);
          const [exp] = await query(
            prom,
            'certswap_certificate_expiry_timestamp_seconds{job="certswap",name="device"}',
            t,
          );
          const g = Number(gen?.value?.[1] ?? 0);
          if (g > 0 && exp && !checked.has(g)) {
            const meta = (await store.status()).generations.find((x) => x.id === g)!;
            expect(Number(exp.value![1]), `expiry of generation ${g}`).to.equal(Date.parse(meta.notAfter!) / 1000);
            checked.set(g, Number(exp.value![1]));
          }
          return checked.size >= (picture ? 7 : 3);
        },
        60_000,
      );
      const expiries = [...checked.values()];
      expect(expiries).to.deep.equal([...expiries].sort((a, b) => a - b));
      // A rollback from the CLI, counted as manual. (Retried when it landed inside one of the
      // agent's own rotations, which then made a newer generation active and hid it.)
      for (let i = 0; i < 3; i++) {
        expect((await certswap(['rollback', '--dir', storeDir])).code).to.equal(0);
        const seen = await until(
          'a manual rollback in Prometheus',
          async () => (await query(prom, 'certswap_rollbacks_total{job="certswap",reason="manual"} > 0')).length > 0,
          4000,
        ).then(
          () => true,
          () => false,
        );
        if (seen) break;
      }
      expect(await query(prom, 'certswap_rollbacks_total{job="certswap",reason="manual"} > 0')).to.have.length(1);

      // 2. The renewal counter rose with them; the CA that is down is counted and alerted on.
      const success = await query(prom, 'certswap_renewals_total{job="certswap",name="device",result="success"}');
      expect(Number(success[0]!.value![1])).to.be.at.least(3);
      const rose = await query(
        prom,
        'increase(certswap_renewals_total{job="certswap",name="device",result="success"}[1m])',
      );
      expect(Number(rose[0]!.value![1])).to.be.above(0);
      const failures = await query(prom, 'certswap_renewals_total{job="certswap",name="gateway",result="failure"}');
      expect(Number(failures[0]!.value![1])).to.be.at.least(1);
      let alerts: Array<{ labels: Record<string, string>; state: string }> = [];
      await until('CertswapRenewalFailing to fire', async () => {
        alerts = (await api<{ alerts: typeof alerts }>(prom, 'alerts', {})).alerts;
        return alerts.some((a) => a.labels.alertname === 'CertswapRenewalFailing' && a.state === 'firing');
      });
      // From the endpoint (job certswap), and from the textfile (job node) once node_exporter has it.
      const failing = alerts.filter(
        (a) => a.labels.alertname === 'CertswapRenewalFailing' && a.labels.job === 'certswap',
      );
      expect(failing.map((a) => [a.labels.name, a.state])).to.deep.equal([['gateway', 'firing']]);
      expect(alerts.filter((a) => a.labels.name === 'device').map((a) => a.labels.alertname)).to.deep.equal([]);

      // 3. The textfile, through node_exporter: the same series, read without an error.
      await until('the textfile through node_exporter', async () => {
        const r = await query(prom, 'certswap_renewals_total{job="node",name="gateway",result="failure"} > 0');
        return r.length === 1;
      });
      const textfileErrors = await query(prom, 'node_textfile_scrape_error{job="node"}');
      expect(textfileErrors.map((s) => s.value![1])).to.deep.equal(['0']);
      const viaNode = await query(prom, 'certswap_certificate_expiry_timestamp_seconds{job="node",name="device"}');
      expect(expiries.concat(Date.parse((await store.verify()).info.notAfter) / 1000)).to.include(
        Number(viaNode[0]!.value![1]),
      );

      // 4. Every query of the dashboard runs and returns data; its series make the picture.
      const end = Date.now() / 1000;
      const dashboard = (await fse.readJson(DASHBOARD)) as Dashboard;
      const panels: PanelData[] = [];
      for (const p of dashboard.panels) {
        const panel: PanelData = { title: p.title, type: p.type, unit: p.fieldConfig.defaults.unit, series: [] };
        for (const target of p.targets) {
          const expr = grafanaExpr(target.expr);
          const instant = await query(prom, expr);
          expect(instant.length, `${p.title}: ${expr}`).to.be.above(0);
          const range = await api<{ result: PromSample[] }>(prom, 'query_range', {
            query: expr,
            start: started,
            end,
            step: 1,
          });
          expect(range.result.length, `${p.title} (range): ${expr}`).to.be.above(0);
          const source = target.instant ? instant.map((s) => ({ ...s, values: [s.value!] })) : range.result;
          for (const s of source) {
            panel.series.push({
              label: legendOf(target.legendFormat, s.metric),
              points: s.values!.map(([t, v]) => [t, Number(v)]),
            });
          }
        }
        panels.push(panel);
      }
      const svg = renderDashboard(
        'certswap dashboard (scripts/grafana/certswap-dashboard.json)',
        `Drawn from a live Prometheus by test/monitor/prometheus.test.ts: an agent rotating a 10 s certificate ` +
          `(device) and failing to reach a CA that is down (gateway), ${Math.round(end - started)} s of data.`,
        panels,
        [started, end],
      );
      expect(svg.match(/<polyline /g)?.length ?? 0).to.be.at.least(panels.length - 1);
      await fse.writeFile(path.join(dir, 'dashboard.svg'), svg);
      if (picture) await fse.writeFile(path.join(ROOT, 'docs', 'dashboard.svg'), svg);
      console.log(
        `      ${checked.size} rotations checked, ${failures[0]!.value![1]}+ failures, ${Math.round(end - started)} s`,
      );
    } finally {
      // Every one, whatever another's stop does.
      await Promise.allSettled(servers.map((s) => s.stop()));
    }
  });
});
