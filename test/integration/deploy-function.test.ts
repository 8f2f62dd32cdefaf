/**
 * The folder Cloud Run functions is given (`npm run build:function` → .deploy/function): only the
 * modules the function runs, a package.json and a lockfile of its own, so that the buildpack's
 * `npm ci` works without the repository's workspaces. Installed here as the buildpack installs it
 * (`npm ci --omit=dev`, from the npm cache when it can) and served from that install.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../core/measurements.js';
import { bootReportEntry, eventarcBody } from '../../devstack/entries.js';
import { useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { ROOT } from '../support/cli.js';
import { KERNEL_25, TAMPERED } from '../support/fixtures.js';
import { postBinary, startFunction } from '../support/function-server.js';

const run = promisify(execFile);
const fs = useFirestore();
const folder = mkdtempSync(path.join(tmpdir(), 'bootwarden-deploy-'));
const work = mkdtempSync(path.join(tmpdir(), 'bootwarden-deploy-run-'));

/** What the deployed function loads, and nothing else. */
const EXPECTED_MODULES = [
  'adapters/gcp/firestore-approval-store.js',
  'adapters/gcp/firestore-client.js',
  'adapters/gcp/firestore-stores.js',
  'adapters/gcp/google-identity.js',
  'adapters/gcp/json-logger.js',
  'adapters/gcp/workflows-execution-starter.js',
  // Loaded only with BOOTWARDEN_WORKFLOWS_API_URL, which is refused on Cloud Run (K_SERVICE).
  'adapters/local/local-api.js',
  'adapters/local/local-tokens.js',
  'core/base64.js',
  'core/baseline.js',
  'core/blast-radius.js',
  'core/config.js',
  'core/contracts.js',
  'core/decide.js',
  'core/errors.js',
  'core/event.js',
  'core/firestore-rest.js',
  'core/ingest.js',
  'core/json.js',
  'core/measurements.js',
  'core/parse.js',
  'core/relearn-check.js',
  'core/time.js',
  'functions/body-limit.js',
  'functions/entry.js',
  'functions/handler.js',
  'functions/index.js',
  'functions/wiring.js',
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((f) => !f.startsWith('node_modules/'))
    .sort();
}

const json = (file: string): Record<string, any> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;

beforeAll(async () => {
  // dist/ is fresh: the global setup builds it.
  await run(process.execPath, [path.join(ROOT, 'deploy', 'build-function.mjs'), folder], { cwd: ROOT });
});

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('the deploy folder of the function', () => {
  it('holds the modules the function loads, its package.json and its lockfile, nothing else', () => {
    expect.hasAssertions();
    expect(filesUnder(folder)).toEqual([...EXPECTED_MODULES, 'package-lock.json', 'package.json'].sort());
  });

  it("pins the repository's versions of its runtime dependencies, and its lockfile matches its package.json", () => {
    expect.hasAssertions();
    const pkg = json(path.join(folder, 'package.json'));
    const rootPkg = json(path.join(ROOT, 'package.json'));
    const lock = json(path.join(folder, 'package-lock.json'));
    expect(Object.keys(pkg['dependencies'] as object).sort()).toEqual([
      '@google-cloud/firestore',
      '@google-cloud/functions-framework',
      '@google-cloud/workflows',
      // Imported by adapters/local/local-api.js (the local path only), so declared rather than borrowed.
      'google-auth-library',
    ]);
    for (const [name, version] of Object.entries(pkg['dependencies'] as Record<string, string>)) {
      expect(rootPkg['dependencies'][name], name).toBe(version);
      expect(lock['packages'][`node_modules/${name}`]?.version, `${name} in the lockfile`).toBe(version);
    }
    expect(lock['packages']['']['dependencies']).toEqual(pkg['dependencies']);
    expect(pkg['main']).toBe('functions/index.js');
    expect(pkg['devDependencies']).toBeUndefined();
  });

  it("declares every package a shipped module imports (none is borrowed from another package's dependencies)", () => {
    expect.hasAssertions();
    const declared = Object.keys(json(path.join(folder, 'package.json'))['dependencies'] as object);
    const imported = new Set<string>();
    // Static imports and exports at the start of a statement, and dynamic import('…').
    const BARE = /(?:^|[\n;])\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'".][^'"]*)['"]|\bimport\s*\(\s*['"]([^'".][^'"]*)['"]\s*\)/g;
    for (const file of filesUnder(folder).filter((f) => f.endsWith('.js'))) {
      for (const m of readFileSync(path.join(folder, file), 'utf8').matchAll(BARE)) {
        const spec = m[1] ?? m[2] ?? '';
        if (spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec));
      }
    }
    expect([...imported].filter((p) => !declared.includes(p))).toEqual([]);
    expect(imported).toContain('google-auth-library');
  });

  it('installs with npm ci --omit=dev and serves the function from that install', async () => {
    expect.hasAssertions();
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: folder, timeout: 240_000 });
    const server = await startFunction(
      {
        BOOTWARDEN_COLLECTION_PREFIX: fs.prefix,
        BOOTWARDEN_BASELINE_COLLECTION: `${fs.prefix}baselines`,
        // The deploy folder has no dist/: nothing of the repository is on its module path.
        NODE_PATH: '',
      },
      {
        source: folder,
        framework: path.join(folder, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js'),
      },
    );
    try {
      const instance = { id: '7311935184640012345', project: 'acme-prod', zone: 'us-central1-a' };
      const entry = bootReportEntry('lateBootReportEvent', { instance, bootCounter: 3, actual: TAMPERED, policy: KERNEL_25 });
      const res = await postBinary(server.url, eventarcBody(entry, 'msg-deploy-1'));
      expect(res.status).toBeLessThan(300);
      const [started] = server.executions();
      expect(started?.labels['action']).toBe('stop');
      expect(started?.argument).toMatchObject({
        decision: { action: 'stop' },
        fingerprint: fingerprint(TAMPERED),
        promotion: { metadata: {} },
      });
    } finally {
      await server.stop();
    }
  }, 300_000);
});
