/**
 * The `sys` module (https://cloud.google.com/workflows/docs/reference/stdlib/sys/now, .../get_env,
 * .../log, .../sleep, .../sleep_until). Time, environment, logging and cancellation come from the
 * CallContext, so tests drive them with a fake clock.
 *
 * sys.log, sys.sleep and sys.sleep_until block, so they are call-step only (the overview: "HTTP
 * calls, sys.sleep, and sys.log cannot be used inside an expression").
 *
 * Where the reference is silent: get_env without a default raises UndocumentedError for an unset
 * variable (what Google returns then is not documented);
 * sys.log treats a null data/text/json as not given (the reference's positional example passes
 * `${null}` for data), logs non-string text payloads as their JSON text, rejects an unknown
 * severity and a timeout that is not positive (ValueError); the log record's time is the clock's
 * milliseconds; sys.sleep rejects negative seconds (ValueError); sys.sleep_until returns at once
 * for a time in the past.
 */
import type { CallContext, StdFunction } from '../run/runtime.js';
import { Bytes, encodeJson, isMap, raise, typeName, type Value } from '../run/values.js';
import { num, str } from './check.js';
import { parseRfc3339 } from './time.js';

const MAX_SLEEP_SECONDS = 31_536_000; // one year
const SEVERITIES = new Set(['DEFAULT', 'DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL', 'ALERT', 'EMERGENCY']);

const given = (v: Value | undefined): v is Value => v !== undefined && v !== null;

function textPayload(param: string, v: Value): string {
  if (v instanceof Bytes)
    raise('TypeError', `sys.log: argument '${param}' must be an integer, float, bool, string, list or dict, got bytes`);
  return typeof v === 'string' ? v : encodeJson(v);
}

async function sleepMs(ctx: CallContext, ms: number): Promise<Value> {
  if (ms > 0) await ctx.clock.sleep(ms, ctx.signal);
  return null;
}

export const sysFunctions: readonly StdFunction[] = [
  {
    name: 'sys.now',
    params: [],
    required: 0,
    call: (_args, ctx) => ctx.clock.now() / 1000,
  },
  {
    name: 'sys.get_env',
    params: ['name', 'default'],
    required: 1,
    call([name, fallback], ctx) {
      const n = str('sys.get_env', 'name', name);
      const d = fallback === undefined ? undefined : str('sys.get_env', 'default', fallback);
      const value = ctx.env.get(n) ?? d;
      if (value !== undefined) return value;
      return raise(
        'UndocumentedError',
        `sys.get_env: ${n} is not set, and what Google returns for an unset variable without a default is undocumented (the local engine refuses it): pass a default, sys.get_env("${n}", "...")`,
      );
    },
  },
  {
    name: 'sys.log',
    params: ['data', 'severity', 'text', 'json', 'timeout'],
    required: 0,
    callOnly: true,
    call([data, severity, text, json, timeout], ctx) {
      const count = [data, text, json].filter(given).length;
      if (count === 0) raise('TypeError', `sys.log: one of 'data', 'text' or 'json' is required`);
      if (count > 1) raise('TypeError', `sys.log: only one of 'data', 'text' or 'json' may be given`);
      const sev = given(severity) ? str('sys.log', 'severity', severity) : 'DEFAULT';
      if (!SEVERITIES.has(sev))
        raise('ValueError', `sys.log: argument 'severity' must be one of ${[...SEVERITIES].join(', ')}, got ${JSON.stringify(sev)}`);
      if (given(timeout) && num('sys.log', 'timeout', timeout) <= 0) raise('ValueError', `sys.log: argument 'timeout' must be positive`);
      let payload: Value;
      if (given(json)) {
        if (!isMap(json)) raise('TypeError', `sys.log: argument 'json' must be a dict, got ${typeName(json)}`);
        payload = json;
      } else if (given(text)) {
        payload = textPayload('text', text);
      } else {
        const d = data as Value;
        payload = isMap(d) ? d : textPayload('data', d);
      }
      ctx.log({ severity: sev, payload, time: ctx.clock.now() });
      return null;
    },
  },
  {
    name: 'sys.sleep',
    params: ['seconds'],
    required: 1,
    callOnly: true,
    call([seconds], ctx) {
      const s = Number(num('sys.sleep', 'seconds', seconds));
      if (!(s >= 0)) raise('ValueError', `sys.sleep: argument 'seconds' must not be negative, got ${s}`);
      if (s > MAX_SLEEP_SECONDS) raise('ValueError', `sys.sleep: argument 'seconds' is at most ${MAX_SLEEP_SECONDS} (one year), got ${s}`);
      return sleepMs(ctx, s * 1000);
    },
  },
  {
    name: 'sys.sleep_until',
    params: ['time'],
    required: 1,
    callOnly: true,
    call([time], ctx) {
      const until = Number(parseRfc3339('sys.sleep_until', 'time', str('sys.sleep_until', 'time', time)) / 1000n);
      const now = ctx.clock.now();
      if (until - now > MAX_SLEEP_SECONDS * 1000) raise('ValueError', `sys.sleep_until: argument 'time' is more than one year from now`);
      return sleepMs(ctx, until - now);
    },
  },
];
