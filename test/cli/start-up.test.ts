/**
 * The CLI loads only what a command uses: `--help`, `decide`, `replay` and `baselines` with a local
 * store load no cloud SDK and not the Workflows emulator (whose YAML parser is a CommonJS module,
 * like the Google SDKs, so all of them show in the CommonJS module cache). `workflows validate`
 * shows the check can fail.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const run = promisify(execFile);
const HEAVY = /node_modules\/(@google-cloud\/[^/]+|google-gax|@grpc\/grpc-js|google-auth-library|yaml)\//;

/** Runs `bootwarden args` in process (the real `run` of dist/cli/main.js) and lists the heavy modules it loaded. */
async function heavyModulesOf(args: readonly string[]): Promise<string[]> {
  const script = [
    "import { createRequire } from 'node:module';",
    `const { run } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'cli', 'main.js'))});`,
    'const sink = { write: () => true };',
    `const code = await run(${JSON.stringify(args)}, { stdout: sink, stderr: sink, stdin: process.stdin, env: {}, now: () => new Date('2026-11-01T10:00:02.000Z') });`,
    `const loaded = Object.keys(createRequire(import.meta.url).cache).map((f) => f.match(${HEAVY.toString()})?.[1]).filter(Boolean);`,
    'process.stdout.write(JSON.stringify({ code, loaded: [...new Set(loaded)].sort() }));',
  ].join('\n');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
  const result = JSON.parse(stdout) as { code: number; loaded: string[] };
  expect(result.code, `bootwarden ${args.join(' ')} exit status`).toBeLessThan(3);
  return result.loaded;
}

describe('what each command loads', () => {
  const light: [string, string[]][] = [
    ['--help', ['--help']],
    ['decide', ['decide', '--baselines', 'examples/baselines', 'examples/entries/kernel-update-known-good.json']],
    ['replay', ['replay', '--baselines', 'examples/baselines', 'examples/entries/kernel-update-known-good.json']],
    ['baselines list', ['baselines', 'list', '--baselines', 'examples/baselines']],
    ['workflows --help', ['workflows', '--help']],
  ];

  it.each(light)('%s loads no cloud SDK and no emulator', async (_name, args) => {
    expect.hasAssertions();
    expect(await heavyModulesOf(args)).toEqual([]);
  });

  it('workflows validate loads the emulator (the check above sees it)', async () => {
    expect.hasAssertions();
    expect(await heavyModulesOf(['workflows', 'validate', 'workflows/integrity-response.workflows.yaml'])).toContain('yaml');
  });
});
