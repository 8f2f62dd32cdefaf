/**
 * How each variable's value is read: trimming, empty as unset, anchored patterns, booleans,
 * bounds, defaults, and the exact ConfigError naming the variable at fault.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, configurationTable, loadCliConfig, loadConfig } from '../../core/config.js';

type Env = Record<string, string>;

const BASE = { GOOGLE_CLOUD_PROJECT: 'acme-sec', BOOTWARDEN_WORKFLOW_LOCATION: 'europe-west1' };

/** The error `load` throws; fails the test when it returns. */
function thrown(load: () => unknown): unknown {
  try {
    load();
  } catch (e) {
    return e;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

function expectConfigError(load: () => unknown, message: string): void {
  const e = thrown(load);
  expect(e).toBeInstanceOf(ConfigError);
  expect(e).toMatchObject({ name: 'ConfigError', code: 'config_invalid', retryable: false, message });
}

describe('loadConfig: values', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['True', true],
    ['1', true],
    ['yes', true],
    ['YES', true],
    [' true ', true],
    ['false', false],
    ['FALSE', false],
    ['0', false],
    ['no', false],
    ['No', false],
    ['', false],
    ['   ', false],
  ])('BOOTWARDEN_DRY_RUN=%j → %s', (v, expected) => {
    expect(loadConfig({ ...BASE, BOOTWARDEN_DRY_RUN: v }).dryRun).toBe(expected);
    expect(loadConfig({ ...BASE, BOOTWARDEN_STOP_ON_EARLY_BOOT: v }).stopOnEarlyBootFailure).toBe(expected);
  });

  it.each(['truex', 'xtrue', 'xfalse', 'falsex', '10', 'y'])('BOOTWARDEN_DRY_RUN=%j is refused', (v) => {
    expectConfigError(() => loadConfig({ ...BASE, BOOTWARDEN_DRY_RUN: v }), `BOOTWARDEN_DRY_RUN must be true or false, got "${v}"`);
  });

  it.each([
    ['0', 0],
    ['86400', 86400],
    [' 30 ', 30],
    ['', 50],
  ])('BOOTWARDEN_DEADLINE_SECONDS=%j → %i', (v, expected) => {
    expect(loadConfig({ ...BASE, BOOTWARDEN_DEADLINE_SECONDS: v }).deadlineSeconds).toBe(expected);
  });

  it.each(['86401', '-1', '1.5', 'ten'])('BOOTWARDEN_DEADLINE_SECONDS=%j is refused', (v) => {
    expectConfigError(
      () => loadConfig({ ...BASE, BOOTWARDEN_DEADLINE_SECONDS: v }),
      `BOOTWARDEN_DEADLINE_SECONDS must be a whole number of seconds from 0 to 86400, got "${v}"`,
    );
  });

  it('trims values and treats an empty or blank value as unset', () => {
    const c = loadConfig({
      GOOGLE_CLOUD_PROJECT: '',
      GCLOUD_PROJECT: ' acme-old ',
      BOOTWARDEN_WORKFLOW_LOCATION: ' us-central1 ',
      BOOTWARDEN_WORKFLOW: '   ',
      BOOTWARDEN_FIRESTORE_DATABASE: '',
      BOOTWARDEN_COLLECTION_PREFIX: ' bw_ ',
      BOOTWARDEN_ALLOWED_PROJECTS: '  ',
      FIRESTORE_EMULATOR_HOST: '',
    });
    expect(c).toMatchObject({
      project: 'acme-old',
      executions: { location: 'us-central1', workflow: 'integrity-response' },
      firestoreDatabase: '(default)',
      collectionPrefix: 'bw_',
      allowedProjects: null,
      firestoreEmulatorHost: null,
    });
  });

  it.each([
    ['acme-prod,,acme-dev,', ['acme-prod', 'acme-dev']],
    [' acme-prod , acme-dev ', ['acme-prod', 'acme-dev']],
    ['acme-prod', ['acme-prod']],
    [',', null],
    [' , , ', null],
  ])('BOOTWARDEN_ALLOWED_PROJECTS=%j → %j', (v, expected) => {
    expect(loadConfig({ ...BASE, BOOTWARDEN_ALLOWED_PROJECTS: v }).allowedProjects).toEqual(expected);
  });

  it.each([
    ['europe-west10', 'europe-west10'],
    ['us-central1', 'us-central1'],
    [' me-central2 ', 'me-central2'],
  ])('BOOTWARDEN_WORKFLOW_LOCATION=%j is accepted', (v, expected) => {
    expect(loadConfig({ ...BASE, BOOTWARDEN_WORKFLOW_LOCATION: v }).executions).toEqual({
      location: expected,
      workflow: 'integrity-response',
      apiUrl: null,
    });
  });

  it.each([
    ['BOOTWARDEN_WORKFLOW', 'R_esp-2', 'R_esp-2'],
    ['BOOTWARDEN_WORKFLOW', 'a'.repeat(64), 'a'.repeat(64)],
    ['BOOTWARDEN_COLLECTION_PREFIX', 'b' + 'x'.repeat(40), 'b' + 'x'.repeat(40)],
    ['BOOTWARDEN_COLLECTION_PREFIX', 'b9_', 'b9_'],
  ])('%s=%j is accepted', (name, v, expected) => {
    const c = loadConfig({ ...BASE, [name]: v });
    expect(name === 'BOOTWARDEN_WORKFLOW' ? c.executions.workflow : c.collectionPrefix).toBe(expected);
  });

  it.each([
    [{}, 'GOOGLE_CLOUD_PROJECT is not set: give the project of the workflow and Firestore'],
    [
      { GOOGLE_CLOUD_PROJECT: 'acme-sec' },
      'BOOTWARDEN_WORKFLOW_LOCATION is not set: give the region of the response workflow, e.g. us-central1',
    ],
    [{ ...BASE, GOOGLE_CLOUD_PROJECT: 'Bad_Project' }, 'GOOGLE_CLOUD_PROJECT "Bad_Project" is not a valid project id'],
    [
      { ...BASE, BOOTWARDEN_WORKFLOW_LOCATION: '1us-central1' },
      'BOOTWARDEN_WORKFLOW_LOCATION must be a region like us-central1, got "1us-central1"',
    ],
    [
      { ...BASE, BOOTWARDEN_WORKFLOW_LOCATION: 'us-central1x' },
      'BOOTWARDEN_WORKFLOW_LOCATION must be a region like us-central1, got "us-central1x"',
    ],
    [{ ...BASE, BOOTWARDEN_WORKFLOW: '1resp' }, 'BOOTWARDEN_WORKFLOW must be a workflow name (letters, digits, - and _), got "1resp"'],
    [{ ...BASE, BOOTWARDEN_WORKFLOW: 'resp!' }, 'BOOTWARDEN_WORKFLOW must be a workflow name (letters, digits, - and _), got "resp!"'],
    [
      { ...BASE, BOOTWARDEN_WORKFLOW: 'a'.repeat(65) },
      `BOOTWARDEN_WORKFLOW must be a workflow name (letters, digits, - and _), got "${'a'.repeat(65)}"`,
    ],
    [{ ...BASE, BOOTWARDEN_COLLECTION_PREFIX: 'bw/x' }, 'BOOTWARDEN_COLLECTION_PREFIX must be lowercase letters, digits and _, got "bw/x"'],
    [{ ...BASE, BOOTWARDEN_COLLECTION_PREFIX: '_bw' }, 'BOOTWARDEN_COLLECTION_PREFIX must be lowercase letters, digits and _, got "_bw"'],
    [
      { ...BASE, BOOTWARDEN_COLLECTION_PREFIX: 'b' + 'x'.repeat(41) },
      `BOOTWARDEN_COLLECTION_PREFIX must be lowercase letters, digits and _, got "b${'x'.repeat(41)}"`,
    ],
    [{ ...BASE, BOOTWARDEN_ALLOWED_PROJECTS: 'acme-prod,NOPE' }, 'BOOTWARDEN_ALLOWED_PROJECTS has "NOPE", which is not a valid project id'],
  ])('%j → ConfigError %j', (env: Env, message) => {
    expectConfigError(() => loadConfig(env), message);
  });
});

/** Validated the same way by both loaders. */
describe.each([
  ['loadConfig', (env: Env) => loadConfig({ ...BASE, ...env })],
  ['loadCliConfig', (env: Env) => loadCliConfig(env)],
])('%s: shared variables', (_loader, load) => {
  it.each([
    ['BOOTWARDEN_FIRESTORE_DATABASE', '(default)', { firestoreDatabase: '(default)' }],
    ['BOOTWARDEN_FIRESTORE_DATABASE', 'integrity', { firestoreDatabase: 'integrity' }],
    ['BOOTWARDEN_FIRESTORE_DATABASE', 'a1', { firestoreDatabase: 'a1' }],
    ['BOOTWARDEN_BASELINE_COLLECTION', 'A-b_9', { baselineCollection: 'A-b_9' }],
    ['BOOTWARDEN_BASELINE_COLLECTION', 'x'.repeat(100), { baselineCollection: 'x'.repeat(100) }],
    ['BOOTWARDEN_BASELINE_COLLECTION', ' golden ', { baselineCollection: 'golden' }],
    ['FIRESTORE_EMULATOR_HOST', '[::1]:8080', { firestoreEmulatorHost: '[::1]:8080' }],
    ['FIRESTORE_EMULATOR_HOST', 'localhost:8080', { firestoreEmulatorHost: 'localhost:8080' }],
    ['FIRESTORE_EMULATOR_HOST', '127.0.0.1:65535', { firestoreEmulatorHost: '127.0.0.1:65535' }],
    ['FIRESTORE_EMULATOR_HOST', ' localhost:8080 ', { firestoreEmulatorHost: 'localhost:8080' }],
  ])('%s=%j is accepted', (name, v, expected) => {
    expect(load({ [name]: v })).toMatchObject(expected);
  });

  it.each([
    ['BOOTWARDEN_FIRESTORE_DATABASE', 'Bad_db', 'BOOTWARDEN_FIRESTORE_DATABASE must be a Firestore database id, got "Bad_db"'],
    ['BOOTWARDEN_FIRESTORE_DATABASE', 'db_X', 'BOOTWARDEN_FIRESTORE_DATABASE must be a Firestore database id, got "db_X"'],
    ['BOOTWARDEN_FIRESTORE_DATABASE', 'x(default)', 'BOOTWARDEN_FIRESTORE_DATABASE must be a Firestore database id, got "x(default)"'],
    ['BOOTWARDEN_FIRESTORE_DATABASE', '(default)x', 'BOOTWARDEN_FIRESTORE_DATABASE must be a Firestore database id, got "(default)x"'],
    ['BOOTWARDEN_BASELINE_COLLECTION', 'a/b', 'BOOTWARDEN_BASELINE_COLLECTION must be a collection id, got "a/b"'],
    ['BOOTWARDEN_BASELINE_COLLECTION', 'a b', 'BOOTWARDEN_BASELINE_COLLECTION must be a collection id, got "a b"'],
    ['BOOTWARDEN_BASELINE_COLLECTION', 'x'.repeat(101), `BOOTWARDEN_BASELINE_COLLECTION must be a collection id, got "${'x'.repeat(101)}"`],
    ['FIRESTORE_EMULATOR_HOST', 'localhost', 'FIRESTORE_EMULATOR_HOST must be host:port, got "localhost"'],
    ['FIRESTORE_EMULATOR_HOST', 'host:123456', 'FIRESTORE_EMULATOR_HOST must be host:port, got "host:123456"'],
    ['FIRESTORE_EMULATOR_HOST', 'bad host:8080', 'FIRESTORE_EMULATOR_HOST must be host:port, got "bad host:8080"'],
    ['FIRESTORE_EMULATOR_HOST', 'localhost:80x', 'FIRESTORE_EMULATOR_HOST must be host:port, got "localhost:80x"'],
    ['FIRESTORE_EMULATOR_HOST', '[]:8080', 'FIRESTORE_EMULATOR_HOST must be host:port, got "[]:8080"'],
  ])('%s=%j is refused', (name, v, message) => {
    expectConfigError(() => load({ [name]: v }), message);
  });
});

describe('loadCliConfig', () => {
  it('fills defaults', () => {
    expect(loadCliConfig({})).toEqual({
      project: null,
      firestoreDatabase: '(default)',
      baselineCollection: 'known_good_measurements',
      firestoreEmulatorHost: null,
      baselines: null,
      executionsDir: '.bootwarden/executions',
      debug: false,
      operator: 'unknown',
      blastRadius: { perFingerprint: 3, perProject: 10, overall: 20, windowSeconds: 3600 },
      collectionPrefix: 'bootwarden_',
      workflow: { location: null, name: 'integrity-response', apiUrl: null },
      computeApiUrl: null,
    });
  });

  it('reads every variable', () => {
    expect(
      loadCliConfig({
        GCLOUD_PROJECT: 'acme-old',
        BOOTWARDEN_FIRESTORE_DATABASE: 'integrity',
        BOOTWARDEN_BASELINE_COLLECTION: 'golden',
        FIRESTORE_EMULATOR_HOST: 'localhost:8080',
        BOOTWARDEN_BASELINES: 'examples/baselines',
        BOOTWARDEN_EXECUTIONS_DIR: ' /tmp/executions ',
        BOOTWARDEN_DEBUG: '1',
        USER: 'alice',
        BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT: '1',
        BOOTWARDEN_MAX_STOPS_PER_PROJECT: '2',
        BOOTWARDEN_MAX_STOPS: '3',
        BOOTWARDEN_STOP_WINDOW_SECONDS: '86400',
        BOOTWARDEN_COLLECTION_PREFIX: 'bw_',
        BOOTWARDEN_WORKFLOW_LOCATION: 'europe-west1',
        BOOTWARDEN_WORKFLOW: 'resp',
        BOOTWARDEN_WORKFLOWS_API_URL: 'http://127.0.0.1:8123/',
        BOOTWARDEN_COMPUTE_API_URL: 'http://localhost:8124/compute/v1/',
      }),
    ).toEqual({
      project: 'acme-old',
      firestoreDatabase: 'integrity',
      baselineCollection: 'golden',
      firestoreEmulatorHost: 'localhost:8080',
      baselines: 'examples/baselines',
      executionsDir: '/tmp/executions',
      debug: true,
      operator: 'alice',
      blastRadius: { perFingerprint: 1, perProject: 2, overall: 3, windowSeconds: 86400 },
      collectionPrefix: 'bw_',
      workflow: { location: 'europe-west1', name: 'resp', apiUrl: 'http://127.0.0.1:8123/' },
      computeApiUrl: 'http://localhost:8124/compute/v1/',
    });
  });

  it.each([
    [
      { BOOTWARDEN_COMPUTE_API_URL: 'http://10.0.0.7:8124/compute/v1/' },
      'BOOTWARDEN_COMPUTE_API_URL must be http://127.0.0.1:<port>/compute/v1/',
    ],
    [{ BOOTWARDEN_COMPUTE_API_URL: 'http://127.0.0.1:8124/' }, 'BOOTWARDEN_COMPUTE_API_URL must end in /compute/v1/ with no query'],
    [{ BOOTWARDEN_WORKFLOWS_API_URL: 'http://127.0.0.1/' }, 'BOOTWARDEN_WORKFLOWS_API_URL must be http://127.0.0.1:<port>/'],
  ])('%j → ConfigError naming the variable', (env, message) => {
    expect(() => loadCliConfig(env)).toThrow(ConfigError);
    expect(() => loadCliConfig(env)).toThrow(message);
  });

  it('an empty USER is unset', () => {
    expect(loadCliConfig({ USER: ' ' }).operator).toBe('unknown');
  });

  it.each([
    ['1', true],
    ['true', true],
    ['TRUE', true],
    [' True ', true],
    ['0', false],
    ['false', false],
    ['yes', false],
    ['', false],
  ])('BOOTWARDEN_DEBUG=%j → %s', (v, expected) => {
    expect(loadCliConfig({ BOOTWARDEN_DEBUG: v }).debug).toBe(expected);
  });

  it('refuses an invalid project, naming it', () => {
    expectConfigError(
      () => loadCliConfig({ GOOGLE_CLOUD_PROJECT: 'Bad_Project' }),
      'GOOGLE_CLOUD_PROJECT "Bad_Project" is not a valid project id',
    );
  });
});

describe('configurationTable', () => {
  it('has the header, one row per variable in declaration order, and ends with a newline', () => {
    const table = configurationTable();
    const lines = table.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '| variable | read by | default | meaning |',
      '| --- | --- | --- | --- |',
      '| `GOOGLE_CLOUD_PROJECT` | function, cli, slack app |  | project of the workflow and the Firestore database (set by Cloud Run functions) |',
      '| `BOOTWARDEN_WORKFLOW_LOCATION` | function, slack app, cli |  | region of the response workflow (required by the function; the Slack app and `history`: its history) |',
    ]);
    expect(table).toContain('\n| `USER` | cli | `unknown` | `addedBy` of baselines added or imported without `--added-by` |\n');
    expect(
      table.endsWith(
        '\n| `BOOTWARDEN_FIRESTORE_EMULATOR` | local stack |  | ' +
          'Firestore emulator the local stack, tests and bench start: `gcloud` or `npm` (unset: gcloud if installed) |\n',
      ),
    ).toBe(true);
  });
});
