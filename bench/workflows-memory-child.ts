/**
 * Child of the workflows benchmark: N executions wait on a callback at once; the heap is measured
 * after a full GC before and while they wait. Then every callback is delivered over HTTP, with a
 * token, and every execution must succeed.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadLocalWorkflowText, startLocalEngine, toPlain } from '@bootwarden/workflows-emulator';
import { WAITING_PREFIX, type WaitingStats } from './child-protocol.js';

const WAITING_WORKFLOW = `main:
  params: [args]
  steps:
    - create:
        call: events.create_callback_endpoint
        result: cb
    - publish:
        call: sys.log
        args:
          json: \${cb}
    - wait:
        call: events.await_callback
        args:
          callback: \${cb}
          timeout: 86400
        result: got
    - done:
        return: \${got.http_request.body.decision}
`;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? '1000');
  if (!Number.isInteger(n) || n < 1) throw new Error(`usage: workflows-memory-child <executions>; got ${JSON.stringify(process.argv[2])}`);
  const local = await startLocalEngine();
  local.engine.deploy('wait', loadLocalWorkflowText(WAITING_WORKFLOW, 'wait.workflows.yaml'));
  // One execution first, so code and caches are warm before the baseline.
  const warm = local.engine.startExecution('wait', { argument: '{}' });
  const token = await local.tokens.token('OAuth2', 'https://www.googleapis.com/auth/cloud-platform');
  const urlOf = async (name: string): Promise<string> => {
    for (;;) {
      const rec = local.engine.getExecution(name);
      if (rec.currentStep?.step === 'wait' && rec.logs[0] !== undefined) return (toPlain(rec.logs[0].payload) as { url: string }).url;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const deliver = (url: string): Promise<Response> =>
    fetch(url, {
      method: 'POST',
      body: '{"decision":"approve"}',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
  await deliver(await urlOf(warm.name));
  await local.engine.wait(warm.name);

  const before = heap();
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push(local.engine.startExecution('wait', { argument: '{}' }).name);
  const urls: string[] = [];
  for (const name of names) urls.push(await urlOf(name));
  const during = heap();
  process.stderr.write(`${n} executions waiting; heap ${(before / 2 ** 20).toFixed(1)} MB → ${(during / 2 ** 20).toFixed(1)} MB\n`);

  const started = performance.now();
  for (let i = 0; i < urls.length; i += 50) await Promise.all(urls.slice(i, i + 50).map(deliver));
  const records = await Promise.all(names.map((name) => local.engine.wait(name)));
  const deliverSeconds = (performance.now() - started) / 1000;
  const completed = records.filter((r) => r.state === 'SUCCEEDED' && r.result === '"approve"').length;
  await local.close();
  const stats: WaitingStats = { executions: n, heapBytesPerExecution: (during - before) / n, completed, deliverSeconds };
  process.stdout.write(`${WAITING_PREFIX}${JSON.stringify(stats)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
