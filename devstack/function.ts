/**
 * `npm run function [-- --decide approve|reject|none] [--fleet <file.json>]`: the local stack, serving the function on
 * $PORT (default 8080) until Ctrl-C. Post entries with `npm run -s post-event -- <file>`; each
 * delivery goes through the function (functions-framework, `ingest`) into the response workflow in
 * the local Workflows engine, and each execution's end is printed here. The real Slack app posts
 * to the Slack Web API stand-in, where a local operator clicks Approve (default) or Reject on each
 * approval message, or leaves approvals waiting for their timeout. `--fleet` loads the Compute
 * inventory from a fleet file (devstack/fleet/fleet-file.ts; default examples/fleet.json), so that
 * entries exported from a project can be replayed against its own instances.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { ApprovalDecision } from '../core/approvals.js';
import { ConfigError, loadConfig } from '../core/config.js';
import { NPM_EMULATOR_LIMITS } from './firestore-emulator.js';
import { FleetFileError, readFleetFile } from './fleet/fleet-file.js';
import { seedBaselines } from './seed.js';
import { APPROVER } from './slack-local.js';
import { localFunctionEnv, startLocalStack } from './stack.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const say = (line: string): boolean => process.stderr.write(`bootwarden function: ${line}\n`);

const USAGE = 'usage: npm run function [-- --decide approve|reject|none] [--fleet <file.json>]   (port: $PORT, default 8080)';

async function main(): Promise<number> {
  let decide: ApprovalDecision | 'none';
  let fleetFile = path.join(root, 'examples', 'fleet.json');
  try {
    const { values } = parseArgs({
      options: { decide: { type: 'string', default: 'approve' }, fleet: { type: 'string' } },
      strict: true,
    });
    // npm runs scripts in the package's folder; a relative path is the caller's (INIT_CWD).
    if (values.fleet !== undefined) fleetFile = path.resolve(process.env['INIT_CWD'] ?? process.cwd(), values.fleet);
    const d = values.decide;
    if (d !== 'approve' && d !== 'reject' && d !== 'none')
      throw new Error(`--decide must be approve, reject or none, got ${JSON.stringify(d)}`);
    decide = d;
  } catch (e) {
    say(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 64;
  }
  const port = Number(process.env['PORT'] ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    say(`PORT must be a port number, got ${JSON.stringify(process.env['PORT'])}`);
    return 64;
  }
  // The function's own configuration, validated as Cloud Run would validate it at the first event.
  const passed: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('BOOTWARDEN_') && v !== undefined) passed[k] = v;
  const env = localFunctionEnv('demo-bootwarden', passed);
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      say(`configuration error: ${e.message}`);
      return 1;
    }
    throw e;
  }
  let instances;
  try {
    instances = await readFleetFile(fleetFile);
  } catch (e) {
    if (e instanceof FleetFileError) {
      say(e.message);
      return 1;
    }
    throw e;
  }
  const stack = await startLocalStack({
    projectId: config.project,
    instances,
    ...(decide === 'none' ? {} : { autoDecide: { decision: decide } }),
    collectionPrefix: config.collectionPrefix,
    baselineCollection: config.baselineCollection,
    function: { env, port },
  });
  const seeded = await seedBaselines(stack.db, path.join(root, 'examples', 'baselines'), config.baselineCollection);
  say(`serving onIntegrityEvent on ${stack.functionUrl ?? ''} (functions-framework), executions run in the local Workflows engine`);
  say(`Firestore: ${stack.emulator.kind} emulator at ${stack.emulator.host}, ${seeded.copied.length} baselines from examples/baselines`);
  if (stack.emulator.kind === 'npm') say(`note: ${NPM_EMULATOR_LIMITS}`);
  say(
    `Compute: ${instances.length} VMs from ${path.relative(process.cwd(), fleetFile)} at ${stack.computeUrl}; approvals: ${decide === 'none' ? 'left waiting' : `${decide}d in Slack (the stand-in) by ${APPROVER.name}`}; Slack app on ${stack.slackApp.url}`,
  );
  say(`post an event: PORT=${port} npm run -s post-event -- examples/entries/unknown-measurements.pubsub.json`);
  const reported = new Set<string>();
  const timer = setInterval(() => {
    for (const r of stack.engine.listExecutions({})) {
      if (r.state === 'ACTIVE' || reported.has(r.name)) continue;
      reported.add(r.name);
      const result = r.result === undefined ? undefined : (JSON.parse(r.result) as { outcome?: string; reason?: string | null });
      say(
        `execution ${r.name.slice(r.name.lastIndexOf('/') + 1)} (${r.labels['action'] ?? '?'}, instance ${r.labels['instance-id'] ?? '?'}): ${r.state} ${result?.outcome ?? r.error?.payload ?? ''}`,
      );
    }
  }, 250);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
  for (const r of stack.engine.listExecutions({ state: 'ACTIVE' })) stack.engine.cancel(r.name);
  await stack.close();
  return 0;
}

process.exitCode = await main();
