/**
 * Metric 3: replay of a large export against a plain `JSON.parse` of the same file, each in its
 * own process so that peak RSS (process.resourceUsage().maxRSS) belongs to that work alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baselineToDocument, type Baseline } from '../core/baseline.js';
import type { ReplayReport } from '../core/replay.js';
import { helperPath, runNode, type ChildResult } from './children.js';
import { STATS_PREFIX, type ParseChildResult, type ReplayChildStats } from './child-protocol.js';
import { writeExport, type ExportFile } from './export-file.js';
import { Fleet, fillerBaseline } from './fleet.js';
import { info, log, metric, seconds, type Metric } from './metrics.js';

export const MB = 1024 * 1024;
const RATIO_TARGET = 3;
const RSS_TARGET_MB = 200;

function failure(label: string, r: ChildResult): string {
  const how = r.signal !== null ? `was killed by ${r.signal}` : `exited with status ${String(r.code)}`;
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  // Node prints the source line, a caret, the error, its stack, then its version: show the error.
  const message = lines.find((l) => /^\w*Error\b|^FATAL ERROR/.test(l.trim())) ?? lines.pop() ?? 'no message';
  return `${label} ${how}: ${message.trim()}`;
}

async function plainJsonParse(file: string): Promise<ParseChildResult | null> {
  const r = await runNode(helperPath('child-parse.js'), [file], 'json-parse');
  if (r.code !== 0) {
    log(`replay: JSON.parse baseline could not be measured: ${failure('the JSON.parse child', r)}`);
    return null;
  }
  const result = JSON.parse(r.stdout.trim()) as ParseChildResult;
  log(
    `replay: JSON.parse child: read ${result.readSeconds.toFixed(2)} s + parse ${result.parseSeconds.toFixed(2)} s, ` +
      `${String(result.entries)} entries, peak RSS ${(result.maxRssKb / 1024).toFixed(0)} MB (process wall ${r.wallSeconds.toFixed(2)} s)`,
  );
  return result;
}

interface ReplayResult {
  readonly stats: ReplayChildStats;
  readonly report: ReplayReport;
}

async function replay(baselines: string, file: string): Promise<ReplayResult | null> {
  const r = await runNode(helperPath('child-replay.js'), ['replay', '--json', '--baselines', baselines, file], 'replay');
  const lines = r.stdout.split('\n');
  const statsLine = lines.find((l) => l.startsWith(STATS_PREFIX));
  const reportLine = lines.find((l) => l.startsWith('{'));
  if (r.code !== 0 || statsLine === undefined || reportLine === undefined) {
    log(`replay: ERROR ${failure('the replay child', r)}`);
    return null;
  }
  const stats = JSON.parse(statsLine.slice(STATS_PREFIX.length)) as ReplayChildStats;
  const report = JSON.parse(reportLine) as ReplayReport;
  log(
    `replay: replay child: ${stats.seconds.toFixed(2)} s in run(), peak RSS ${(stats.maxRssKb / 1024).toFixed(0)} MB ` +
      `(process wall ${r.wallSeconds.toFixed(2)} s)`,
  );
  return { stats, report };
}

/** Does the report account for every entry written, each with the action the generator expects? */
function reportMatches(report: ReplayReport, written: ExportFile): boolean {
  const a = report.actions;
  const problems: string[] = [];
  if (report.entries !== written.entries) problems.push(`${report.entries} entries in the report, ${written.entries} written`);
  if (a.relearn !== written.expected.relearn) problems.push(`relearn ${a.relearn}, expected ${written.expected.relearn}`);
  // The blast-radius guard holds what it does not stop.
  if (a.stop + a.hold !== written.expected.stop)
    problems.push(`stop ${a.stop} and hold ${a.hold}, expected ${written.expected.stop} in all`);
  if (a.ignore !== written.expected.ignore) problems.push(`ignore ${a.ignore}, expected ${written.expected.ignore}`);
  if (a.reject !== 0 || a.notify !== 0) problems.push(`reject ${a.reject} and notify ${a.notify}, expected 0`);
  for (const p of problems) log(`replay: ERROR ${p}`);
  for (const s of report.sampleRejections.slice(0, 3)) log(`replay: rejected entry #${s.ordinal}: ${s.code}: ${s.message}`);
  return problems.length === 0;
}

export async function benchReplay(root: string, exportMb: number): Promise<Metric[]> {
  const baselines = path.join(root, 'replay-baselines');
  mkdirSync(baselines);
  const docs: Baseline[] = [...new Fleet(3).knownBaselines];
  for (let i = 0; i < 100; i++) docs.push(fillerBaseline(i));
  for (const b of docs) writeFileSync(path.join(baselines, `${b.id}.json`), `${JSON.stringify(baselineToDocument(b), null, 2)}\n`);

  const file = path.join(root, 'export.json');
  log(`replay: writing a ${exportMb} MB export to ${file}`);
  const writeStart = performance.now();
  const written = writeExport(file, exportMb * MB);
  const fileMb = written.bytes / MB;
  log(
    `replay: wrote ${written.entries.toLocaleString('en-US')} entries, ${fileMb.toFixed(1)} MB in ${seconds(writeStart).toFixed(1)} s ` +
      `(expected: relearn ${written.expected.relearn}, stop ${written.expected.stop}, ignore ${written.expected.ignore})`,
  );

  const parsed = await plainJsonParse(file);
  if (parsed !== null && parsed.entries !== written.entries) {
    log(`replay: ERROR JSON.parse found ${String(parsed.entries)} entries, ${written.entries} were written`);
  }
  const replayed = await replay(baselines, file);
  const matches = replayed !== null && reportMatches(replayed.report, written);

  const parseSeconds = parsed?.seconds ?? null;
  const replaySeconds = replayed?.stats.seconds ?? null;
  const ratio = parseSeconds !== null && replaySeconds !== null ? replaySeconds / parseSeconds : null;
  const ratioOk = matches && ratio !== null && ratio <= RATIO_TARGET;
  const ratioOnly = parsed !== null && replaySeconds !== null ? replaySeconds / parsed.parseSeconds : null;
  const rssMb = replayed === null ? null : replayed.stats.maxRssKb / 1024;
  return [
    info('export_mb', fileMb, 'MB'),
    info('export_entries', written.entries, 'entries'),
    info('json_parse_seconds', parseSeconds, 's'),
    info('json_parse_peak_rss_mb', parsed === null ? null : parsed.maxRssKb / 1024, 'MB'),
    // JSON.parse without readFileSync: on machines where touching fresh memory is slow (VMs that
    // give freed pages back), reading the file into one string can cost more than parsing it.
    info('json_parse_only_seconds', parsed?.parseSeconds ?? null, 's'),
    metric('replay_seconds', replaySeconds, 's', `<= ${RATIO_TARGET}x json-parse`, ratioOk),
    metric('replay_vs_json_parse', ratio, 'x', `<= ${RATIO_TARGET}`, ratioOk),
    metric('replay_peak_rss_mb', rssMb, 'MB', `< ${RSS_TARGET_MB}`, matches && rssMb !== null && rssMb < RSS_TARGET_MB),
    // The stricter reading of the target: against JSON.parse alone, without reading the file.
    metric('replay_vs_json_parse_only', ratioOnly, 'x', `<= ${RATIO_TARGET}`, matches && ratioOnly !== null && ratioOnly <= RATIO_TARGET),
    info('replay_mb_per_second', replaySeconds === null ? null : fileMb / replaySeconds, 'MB/s'),
    metric('replay_report_matches', matches ? 1 : 0, 'bool', '= 1', matches),
  ];
}
