/** `bootwarden workflows validate | run | history`, through the real executable. */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootwarden, jsonLines, ROOT } from '../support/cli.js';
import { useTmpDirs } from '../support/tmp.js';

const GOOD = [
  'main:',
  '  params: [args]',
  '  steps:',
  '    - greet:',
  '        assign:',
  '          - who: ${default(map.get(args, "who"), "world")}',
  '          - region: ${sys.get_env("REGION")}',
  '    - done:',
  '        return: ${"hello " + who + " from " + region}',
  '',
].join('\n');

const FAILING = '- a:\n    assign:\n      - x: 1\n- b:\n    raise:\n      code: 3\n      message: nope\n';

describe('bootwarden workflows', () => {
  const tmp = useTmpDirs();

  function files(): { dir: string; good: string; failing: string; bad: string; executions: string } {
    const dir = tmp();
    const good = path.join(dir, 'hello.workflows.yaml');
    const failing = path.join(dir, 'failing.workflows.yaml');
    const bad = path.join(dir, 'bad.workflows.yaml');
    writeFileSync(good, GOOD);
    writeFileSync(failing, FAILING);
    writeFileSync(bad, '- a:\n    call: nope.nothing\n');
    return { dir, good, failing, bad, executions: path.join(dir, 'executions') };
  }

  it('validate: 0 for a valid file, 2 with file, line, step and construct for an invalid one', async () => {
    const f = files();
    const ok = await bootwarden(['workflows', 'validate', f.good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('valid');
    const bad = await bootwarden(['workflows', 'validate', f.bad]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`bootwarden: ${f.bad}:2 step 'a': unknown function or subworkflow 'nope.nothing'\n`);
    const missing = await bootwarden(['workflows', 'validate', path.join(f.dir, 'none.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the file \(ENOENT\)/);
  });

  it('validate: a connector the engine does not emulate is a warning, and the file is valid (Google deploys it)', async () => {
    expect.hasAssertions();
    const f = files();
    const bigquery = path.join(f.dir, 'bq.workflows.yaml');
    writeFileSync(bigquery, '- q:\n    call: googleapis.bigquery.v2.jobs.query\n    args:\n      projectId: p\n');
    const r = await bootwarden(['workflows', 'validate', bigquery]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid');
    expect(r.stderr).toMatch(
      /^bootwarden: warning: .*bq\.workflows\.yaml:2: step 'q': connector googleapis\.bigquery\.v2\.jobs\.query is not emulated locally/,
    );
  });

  it('run: prints state, result, error and steps; --argument and --env reach the workflow', async () => {
    const f = files();
    const res = await bootwarden([
      'workflows',
      'run',
      f.good,
      '--argument',
      '{"who": "ops"}',
      '--env',
      'REGION=europe-west1',
      '--executions',
      f.executions,
    ]);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      state: 'SUCCEEDED',
      result: 'hello ops from europe-west1',
      error: null,
      steps: { total: 2, internal: 2, external: 0 },
    });
  });

  it('run: exit 0 for a failed execution, with the error map; 2 when the file does not load; 64 for a bad argument', async () => {
    const f = files();
    const failed = await bootwarden(['workflows', 'run', f.failing, '--executions', f.executions]);
    expect(failed.code).toBe(0);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      state: 'FAILED',
      result: null,
      error: { code: 3, message: 'nope' },
      steps: { total: 2 },
    });
    expect((await bootwarden(['workflows', 'run', f.bad, '--executions', f.executions])).code).toBe(2);
    const usage = await bootwarden(['workflows', 'run', f.good, '--argument', '{oops', '--executions', f.executions]);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toMatch(/--argument is not valid JSON/);
    const reserved = await bootwarden(['workflows', 'run', f.good, '--env', 'GOOGLE_X=1', '--executions', f.executions]);
    expect(reserved.code).toBe(64);
    expect(reserved.stderr).toMatch(/GOOGLE_X.*may not .*start with GOOGLE_/);
  });

  it('history: lists what run recorded, filtered by workflow and state', async () => {
    const f = files();
    await bootwarden(['workflows', 'run', f.good, '--env', 'REGION=r', '--executions', f.executions]);
    await bootwarden(['workflows', 'run', f.failing, '--executions', f.executions]);
    const all = jsonLines((await bootwarden(['workflows', 'history', '--json', '--executions', f.executions])).stdout);
    expect(all.map((r) => r['state']).sort()).toEqual(['FAILED', 'SUCCEEDED']);
    const failed = jsonLines(
      (await bootwarden(['workflows', 'history', '--json', '--state', 'FAILED', '--executions', f.executions])).stdout,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ state: 'FAILED', error: { code: 3 } });
    const hello = await bootwarden(['workflows', 'history', '--workflow', 'hello', '--executions', f.executions]);
    expect(hello.stdout).toMatch(/hello\s+SUCCEEDED\s+2/);
    const badState = await bootwarden(['workflows', 'history', '--state', 'DONE', '--executions', f.executions]);
    expect(badState.code).toBe(64);
  });

  it('the deployed workflow and every example validate', async () => {
    const files = ['workflows', path.join('examples', 'workflows')].flatMap((dir) =>
      readdirSync(path.join(ROOT, dir))
        .filter((f) => f.endsWith('.workflows.yaml'))
        .map((f) => path.join(ROOT, dir, f)),
    );
    expect(files.map((f) => path.basename(f))).toContain('integrity-response.workflows.yaml');
    for (const f of files) {
      const res = await bootwarden(['workflows', 'validate', f]);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
    }
  });

  it('run: the example retries with backoff, then succeeds', async () => {
    const f = files();
    const res = await bootwarden([
      'workflows',
      'run',
      path.join(ROOT, 'examples', 'workflows', 'retry-and-callback.workflows.yaml'),
      '--argument',
      '{"instance": "vm-1", "failures": 1, "wait_seconds": 0}',
      '--executions',
      f.executions,
    ]);
    expect(JSON.parse(res.stdout)).toMatchObject({ state: 'SUCCEEDED', result: { instance: 'vm-1', answer: 'ok', attempts: 2 } });
  });

  it('--help describes the subcommands', async () => {
    const res = await bootwarden(['workflows', '--help']);
    expect(res.code).toBe(0);
    for (const word of ['validate', 'run', 'history', '--argument', '--env', '--executions']) expect(res.stdout).toContain(word);
  });
});
