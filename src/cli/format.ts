/** Human-readable renderings of command results. JSON output is the result objects themselves. */
import type { StoreStatus } from '../store/ops/status.js';
import type { RecoverResult } from '../store/ops/recover.js';
import type { PruneResult } from '../store/ops/prune.js';
import type { CertInfo } from '../pki/cert-info.js';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatStatus(s: StoreStatus): string {
  const lines = [`store    ${s.dir}`];
  lines.push(`current  ${s.current ?? 'none'}${s.previous !== null ? `   (rollback target ${s.previous})` : ''}`);
  if (s.trial)
    lines.push(
      `trial    generation ${s.trial.generation} on trial since ${s.trial.startedAt}; ` +
        `returns to ${s.trial.returnTo ?? 'nothing'} unless committed`,
    );
  const formats = s.generations.find((g) => g.active)?.files;
  if (formats?.length) lines.push(`formats  ${formats.join(' ')} (beside cert.pem and key.pem in current/)`);
  if (s.currentProblem) lines.push(`problem  ${s.currentProblem}`);
  for (const p of s.problems) lines.push(`problem  ${p.code}: ${p.message}`);
  if (s.generations.length === 0) return `${lines.join('\n')}\n(no generations)\n`;
  const rows = [['GEN', 'STATE', 'NOT AFTER', 'KEY', 'VALID', 'SUBJECT', 'FINGERPRINT (SHA-256)']];
  for (const g of s.generations) {
    rows.push([
      String(g.id),
      g.active ? 'current' : g.rollbackTarget ? 'previous' : '',
      g.notAfter ?? '?',
      g.keyType ?? '?',
      g.valid ? 'yes' : `no (${g.problem ?? '?'})`,
      g.subject ?? '?',
      g.fingerprint ?? '?',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  lines.push('');
  for (const r of rows) lines.push(r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i]!))).join('  '));
  return `${lines.join('\n')}\n`;
}

export function formatVerify(generation: number, info: CertInfo): string {
  return (
    `ok: generation ${generation}, ${info.subject}, ${info.keyType}, ` +
    `valid until ${info.notAfter}, sha256 ${info.fingerprint}\n`
  );
}

export function formatServed(s: { host: string; port: number }, r: { generation: number; served: string }): string {
  return `ok: ${s.host}:${s.port} serves generation ${r.generation}, sha256 ${r.served}\n`;
}

export function formatPrune(r: PruneResult): string {
  const out = [`removed: ${r.removed.length ? r.removed.join(' ') : 'none'}`, `kept: ${r.kept.join(' ') || 'none'}`];
  if (r.leftoversRemoved.length) out.push(`leftovers removed: ${r.leftoversRemoved.length}`);
  return `${out.join('\n')}\n`;
}

export function formatRecover(r: RecoverResult): string {
  const out: string[] = [];
  for (const p of r.leftoversRemoved) out.push(`removed leftover ${p}`);
  if (r.trialRolledBack)
    out.push(
      `generation ${r.trialRolledBack.from} was on trial and never committed: ` +
        `returned to ${r.trialRolledBack.to ?? 'nothing'}`,
    );
  if (r.repointed) out.push(`current repointed to generation ${r.repointed.to}: ${r.repointed.reason}`);
  for (const p of r.problems) out.push(`problem: ${p.code}: ${p.message}`);
  out.push(r.problems.length ? 'store needs attention' : `store is healthy; current: ${r.current ?? 'none'}`);
  return `${out.join('\n')}\n`;
}
