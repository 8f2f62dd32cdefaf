/** Benchmark results: one row per metric, printed as a table or as `{"metrics": [...]}`. */

export interface Metric {
  readonly name: string;
  /** Null when the measurement could not be taken (the reason is printed on stderr). */
  readonly value: number | null;
  readonly unit: string;
  /** What the value should be, e.g. "<= 1", "< 200", or "n/a" for informational rows. */
  readonly target: string;
  readonly ok: boolean;
}

/** An informational row: no target to miss. */
export function info(name: string, value: number | null, unit: string): Metric {
  return { name, value, unit, target: 'n/a', ok: true };
}

export function metric(name: string, value: number | null, unit: string, target: string, ok: boolean): Metric {
  return { name, value, unit, target, ok };
}

/** Six significant digits are plenty for timings and ratios, and keep the JSON readable. */
function rounded(v: number | null): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  return Number.isInteger(v) ? v : Number(v.toPrecision(6));
}

export function toJson(metrics: readonly Metric[]): string {
  const rows = metrics.map((m) => ({ name: m.name, value: rounded(m.value), unit: m.unit, target: m.target, ok: m.ok }));
  return `${JSON.stringify({ metrics: rows }, null, 2)}\n`;
}

function shown(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '-';
  const abs = Math.abs(v);
  if (Number.isInteger(v) || abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 0.01) return v.toFixed(3);
  if (v === 0) return '0';
  return v.toPrecision(3);
}

export function toTable(metrics: readonly Metric[]): string {
  const headers = ['NAME', 'VALUE', 'UNIT', 'TARGET', 'OK'];
  const rows = metrics.map((m) => [m.name, shown(m.value), m.unit, m.target, m.ok ? 'ok' : 'MISSED']);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 1 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Progress and diagnostics: stderr only, so that `--json` keeps stdout to one document. */
export function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

export function seconds(fromMs: number): number {
  return (performance.now() - fromMs) / 1000;
}

/** The p-th percentile of ascending `sorted` (nearest rank); NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
