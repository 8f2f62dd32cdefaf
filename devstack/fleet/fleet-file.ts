/**
 * A fleet file (`--fleet <file.json>`): the instances of a project, so that anyone can replay their
 * own log entries against their own inventory, or simulate a fleet that boots.
 *
 *   {"instances": [
 *     {"project": "acme-prod", "zone": "us-central1-a", "name": "web-1", "id": "4356841712468193571",
 *      "status": "RUNNING", "labels": {"env": "prod"}, "lastStartTimestamp": "2026-11-01T01:59:40.872-08:00",
 *      "bootCounter": "12",
 *      "boot": {"os": "linux", "kernel": "linux-6.1.0-26-amd64"}}
 *   ]}
 *
 * `status` is RUNNING (default) or TERMINATED. `boot` (optional) is what the VM boots: Linux
 * `{os, kernel, bootloader?, firmware?, db?, mokKeys?}` or Windows `{os, build, firmware?,
 * bootDrivers?}`; without it the instance is a Compute instance only and writes no entries.
 * Every mistake is named with its place (`instances[3].id`), and unknown fields are refused, so a
 * typo is not silently ignored.
 */
import { readFile } from 'node:fs/promises';
import { INSTANCE_ID, INT64, PROJECT_ID, ZONE } from '../../core/parse.js';
import type { FleetInstance } from './simulated-fleet.js';
import { linuxChain, windowsChain, type BootChain } from './vtpm.js';

export class FleetFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetFileError';
  }
}

const NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return `${typeof v} ${JSON.stringify(v)}`;
}

class Reader {
  constructor(private readonly file: string) {}

  fail(at: string, message: string): never {
    throw new FleetFileError(`fleet file ${this.file}: ${at}: ${message}`);
  }

  only(at: string, o: Obj, allowed: readonly string[]): void {
    for (const key of Object.keys(o))
      if (!allowed.includes(key)) this.fail(`${at}.${key}`, `unknown field (expected ${allowed.join(', ')})`);
  }

  string(at: string, v: unknown, pattern: RegExp, expected: string): string {
    if (typeof v !== 'string') this.fail(at, `must be ${expected}, got ${describe(v)}`);
    if (!pattern.test(v)) this.fail(at, `must be ${expected}, got ${describe(v)}`);
    return v;
  }

  optional(at: string, v: unknown, pattern: RegExp, expected: string): string | undefined {
    return v === undefined ? undefined : this.string(at, v, pattern, expected);
  }

  strings(at: string, v: unknown): string[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) this.fail(at, `must be a list of strings, got ${describe(v)}`);
    return v.map((x, i) => this.string(`${at}[${i}]`, x, /^\S{1,200}$/, 'a non-empty string without spaces'));
  }
}

function chainOf(r: Reader, at: string, v: unknown): BootChain {
  if (!isObject(v)) r.fail(at, `must be an object such as {"os": "linux", "kernel": "linux-6.1.0-26-amd64"}, got ${describe(v)}`);
  const component = /^\S{1,200}$/;
  if (v['os'] === 'linux') {
    r.only(at, v, ['os', 'kernel', 'bootloader', 'firmware', 'db', 'mokKeys']);
    const bootloader = r.optional(`${at}.bootloader`, v['bootloader'], component, 'a boot loader name');
    const firmware = r.optional(`${at}.firmware`, v['firmware'], component, 'a firmware version');
    const db = r.strings(`${at}.db`, v['db']);
    const mokKeys = r.strings(`${at}.mokKeys`, v['mokKeys']);
    return linuxChain({
      kernel: r.string(`${at}.kernel`, v['kernel'], component, 'a kernel name such as "linux-6.1.0-26-amd64"'),
      ...(bootloader === undefined ? {} : { bootloader }),
      ...(firmware === undefined ? {} : { firmware }),
      ...(db === undefined ? {} : { db }),
      ...(mokKeys === undefined ? {} : { mokKeys }),
    });
  }
  if (v['os'] === 'windows') {
    r.only(at, v, ['os', 'build', 'firmware', 'bootDrivers']);
    const firmware = r.optional(`${at}.firmware`, v['firmware'], component, 'a firmware version');
    const bootDrivers = r.strings(`${at}.bootDrivers`, v['bootDrivers']);
    return windowsChain({
      build: r.string(`${at}.build`, v['build'], component, 'a Windows build such as "20348.2700"'),
      ...(firmware === undefined ? {} : { firmware }),
      ...(bootDrivers === undefined ? {} : { bootDrivers }),
    });
  }
  return r.fail(`${at}.os`, `must be "linux" or "windows", got ${describe(v['os'])}`);
}

function instanceOf(r: Reader, at: string, v: unknown): FleetInstance {
  if (!isObject(v)) r.fail(at, `must be an object, got ${describe(v)}`);
  r.only(at, v, ['project', 'zone', 'name', 'id', 'status', 'labels', 'lastStartTimestamp', 'bootCounter', 'boot']);
  if (typeof v['id'] === 'number')
    r.fail(
      `${at}.id`,
      `must be a string, got the number ${String(v['id'])}: write the id in quotes (a JSON number loses the digits of a 19-digit id)`,
    );
  const status = v['status'] ?? 'RUNNING';
  if (status !== 'RUNNING' && status !== 'TERMINATED') r.fail(`${at}.status`, `must be "RUNNING" or "TERMINATED", got ${describe(status)}`);
  let labels: Record<string, string> | undefined;
  if (v['labels'] !== undefined) {
    const raw = v['labels'];
    if (!isObject(raw)) r.fail(`${at}.labels`, `must be an object of strings, got ${describe(raw)}`);
    labels = {};
    for (const [k, value] of Object.entries(raw)) {
      r.string(`${at}.labels`, k, LABEL_KEY, 'keys of lowercase letters, digits, _ and - (at most 63, starting with a letter)');
      labels[k] = r.string(`${at}.labels.${k}`, value, LABEL_VALUE, 'a label value (lowercase letters, digits, _ and -, at most 63)');
    }
  }
  const bootCounter = v['bootCounter'];
  const counter =
    bootCounter === undefined ? undefined : BigInt(r.string(`${at}.bootCounter`, bootCounter, INT64, 'a decimal string such as "12"'));
  if (counter !== undefined && counter < 1n && status === 'RUNNING')
    r.fail(`${at}.bootCounter`, 'a RUNNING instance has booted at least once: 1 or more');
  const lastStart = r.optional(`${at}.lastStartTimestamp`, v['lastStartTimestamp'], RFC3339, 'an RFC 3339 time');
  return {
    project: r.string(`${at}.project`, v['project'], PROJECT_ID, 'a project id'),
    zone: r.string(`${at}.zone`, v['zone'], ZONE, 'a zone such as "us-central1-a"'),
    name: r.string(`${at}.name`, v['name'], NAME, 'an instance name (lowercase letters, digits and -, starting with a letter, at most 63)'),
    id: r.string(`${at}.id`, v['id'], INSTANCE_ID, 'a decimal string of up to 20 digits'),
    status,
    ...(labels === undefined ? {} : { labels }),
    ...(lastStart === undefined ? {} : { lastStartTimestamp: lastStart }),
    ...(counter === undefined ? {} : { bootCounter: counter }),
    ...(v['boot'] === undefined ? {} : { chain: chainOf(r, `${at}.boot`, v['boot']) }),
  };
}

/** Parses the text of a fleet file (`file` names it in errors). */
export function parseFleetFile(text: string, file: string): FleetInstance[] {
  const r = new Reader(file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return r.fail('not JSON', e instanceof Error ? e.message : String(e));
  }
  if (!isObject(doc) || !Array.isArray(doc['instances'])) return r.fail('top level', 'expected {"instances": [...]}');
  r.only('top level', doc, ['instances']);
  const instances = doc['instances'].map((v, i) => instanceOf(r, `instances[${i}]`, v));
  const seen = new Map<string, number>();
  instances.forEach((vm, i) => {
    for (const key of [`id ${vm.id}`, `name ${vm.project}/${vm.zone}/${vm.name}`]) {
      const first = seen.get(key);
      if (first !== undefined) r.fail(`instances[${i}]`, `${key} is also instances[${first}]`);
      seen.set(key, i);
    }
  });
  return instances;
}

export async function readFleetFile(file: string): Promise<FleetInstance[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new FleetFileError(`fleet file ${file}: cannot read it (${e instanceof Error ? e.message : String(e)})`);
  }
  return parseFleetFile(text, file);
}
