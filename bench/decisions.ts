/** Metric 1: parse + decide throughput, in process, against an in-memory baseline lookup. */
import { decide, lookupOf } from '../core/decide.js';
import { parseEnvelopeText } from '../core/parse.js';
import type { Expected } from './fleet.js';
import { Fleet } from './fleet.js';
import { log, metric, seconds, type Metric } from './metrics.js';

const TARGET_PER_SECOND = 20_000;
const WARMUP = 5_000;

export function benchDecisions(count: number): Metric[] {
  const fleet = new Fleet(1);
  const texts: string[] = [];
  const expected: Expected[] = [];
  for (let i = 0; i < count; i++) {
    const g = fleet.entry(i);
    texts.push(JSON.stringify(g.entry));
    expected.push(g.expect);
  }
  const lookup = lookupOf(...fleet.knownBaselines.map((b) => ({ id: b.id, baseline: b })));
  const decideOne = (text: string): string => {
    const parsed = parseEnvelopeText(text);
    return parsed.ok ? decide(parsed.event, lookup).action : 'reject';
  };

  for (let i = 0; i < Math.min(WARMUP, count); i++) decideOne(texts[i] as string);
  log(`decisions: parsing and deciding ${count.toLocaleString('en-US')} entries`);
  const actions: string[] = new Array<string>(count);
  const start = performance.now();
  for (let i = 0; i < count; i++) actions[i] = decideOne(texts[i] as string);
  const elapsed = seconds(start);

  let wrong = 0;
  for (let i = 0; i < count; i++) {
    if (actions[i] !== expected[i]) {
      if (wrong < 3) log(`decisions: ERROR entry ${i} decided ${String(actions[i])}, expected ${String(expected[i])}`);
      wrong++;
    }
  }
  if (wrong > 0) log(`decisions: ERROR ${wrong} of ${count} decisions differ from what the generator expects`);
  const tally = (a: string): number => actions.filter((x) => x === a).length;
  log(
    `decisions: ${elapsed.toFixed(2)} s; relearn ${tally('relearn')}, stop ${tally('stop')}, ignore ${tally('ignore')}, reject ${tally('reject')}`,
  );
  const perSecond = count / elapsed;
  return [
    metric('decisions_per_second', perSecond, 'decisions/s', `>= ${TARGET_PER_SECOND}/s`, wrong === 0 && perSecond >= TARGET_PER_SECOND),
  ];
}
