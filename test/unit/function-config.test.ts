import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';
import { jsonLogger } from '../../adapters/gcp/json-logger.js';

const BASE = { GOOGLE_CLOUD_PROJECT: 'acme-sec', BOOTWARDEN_WORKFLOW_LOCATION: 'europe-west1' };

describe('loadConfig', () => {
  it('fills defaults', () => {
    expect(loadConfig(BASE)).toEqual({
      project: 'acme-sec',
      executions: { location: 'europe-west1', workflow: 'integrity-response', apiUrl: null },
      firestoreDatabase: '(default)',
      baselineCollection: 'known_good_measurements',
      firestoreEmulatorHost: null,
      collectionPrefix: 'bootwarden_',
      dryRun: false,
      stopOnEarlyBootFailure: false,
      allowedProjects: null,
      sourceTopic: null,
      claimLeaseSeconds: 600,
      waitForOwnerSeconds: 10,
      deadlineSeconds: 50,
      blastRadius: { perFingerprint: 3, perProject: 10, overall: 20, windowSeconds: 3600 },
      maxBootCounterJump: 100,
      retentionDays: 400,
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      GOOGLE_CLOUD_PROJECT: 'acme-sec',
      BOOTWARDEN_WORKFLOW_LOCATION: 'us-east4',
      BOOTWARDEN_WORKFLOW: 'resp',
      BOOTWARDEN_DRY_RUN: 'true',
      BOOTWARDEN_STOP_ON_EARLY_BOOT: '1',
      BOOTWARDEN_ALLOWED_PROJECTS: 'acme-prod, acme-dev',
      BOOTWARDEN_COLLECTION_PREFIX: 'bw_',
      BOOTWARDEN_BASELINE_COLLECTION: 'baselines',
      BOOTWARDEN_FIRESTORE_DATABASE: 'integrity',
      BOOTWARDEN_CLAIM_LEASE_SECONDS: '120',
      BOOTWARDEN_WAIT_FOR_OWNER_SECONDS: '0',
      BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT: '0',
      BOOTWARDEN_MAX_STOPS_PER_PROJECT: ' 7 ',
      BOOTWARDEN_MAX_STOPS: '500',
      BOOTWARDEN_STOP_WINDOW_SECONDS: '60',
    });
    expect(c).toMatchObject({
      executions: { location: 'us-east4', workflow: 'resp', apiUrl: null },
      dryRun: true,
      stopOnEarlyBootFailure: true,
      allowedProjects: ['acme-prod', 'acme-dev'],
      collectionPrefix: 'bw_',
      baselineCollection: 'baselines',
      firestoreDatabase: 'integrity',
      claimLeaseSeconds: 120,
      waitForOwnerSeconds: 0,
      blastRadius: { perFingerprint: 0, perProject: 7, overall: 500, windowSeconds: 60 },
    });
  });

  it('reads the local Executions API URL (loopback only)', () => {
    expect(loadConfig({ ...BASE, BOOTWARDEN_WORKFLOWS_API_URL: 'http://127.0.0.1:8123/' }).executions).toEqual({
      location: 'europe-west1',
      workflow: 'integrity-response',
      apiUrl: 'http://127.0.0.1:8123/',
    });
  });

  it.each([
    [{}, 'GOOGLE_CLOUD_PROJECT is not set'],
    [
      { ...BASE, BOOTWARDEN_WORKFLOWS_API_URL: 'https://workflowexecutions.example.com/' },
      'BOOTWARDEN_WORKFLOWS_API_URL must be http://127.0.0.1:<port>/ (a local stand-in of the API, on loopback), got "https://workflowexecutions.example.com/"',
    ],
    [{ ...BASE, BOOTWARDEN_WORKFLOWS_API_URL: 'http://127.0.0.1:8123/v1/' }, 'BOOTWARDEN_WORKFLOWS_API_URL must end in / with no query'],
    [{ ...BASE, BOOTWARDEN_WORKFLOWS_API_URL: 'not a url' }, 'BOOTWARDEN_WORKFLOWS_API_URL must be a URL such as http://127.0.0.1:8090/'],
    [
      { ...BASE, BOOTWARDEN_WORKFLOWS_API_URL: 'http://127.0.0.1:8123/', K_SERVICE: 'bootwarden' },
      'BOOTWARDEN_WORKFLOWS_API_URL on Cloud Run (K_SERVICE is set): local APIs and their unsigned tokens are never used in the cloud',
    ],
    [{ GOOGLE_CLOUD_PROJECT: 'Bad_Project' }, 'GOOGLE_CLOUD_PROJECT "Bad_Project" is not a valid project id'],
    [{ GOOGLE_CLOUD_PROJECT: 'acme-sec' }, 'BOOTWARDEN_WORKFLOW_LOCATION is not set'],
    [{ ...BASE, BOOTWARDEN_WORKFLOW_LOCATION: 'europe-west1-b' }, 'BOOTWARDEN_WORKFLOW_LOCATION must be a region'],
    [{ ...BASE, BOOTWARDEN_DRY_RUN: 'maybe' }, 'BOOTWARDEN_DRY_RUN must be true or false'],
    [{ ...BASE, BOOTWARDEN_CLAIM_LEASE_SECONDS: '-1' }, 'BOOTWARDEN_CLAIM_LEASE_SECONDS must be a whole number'],
    [{ ...BASE, BOOTWARDEN_ALLOWED_PROJECTS: 'acme-prod,NOPE' }, 'BOOTWARDEN_ALLOWED_PROJECTS has "NOPE"'],
    [
      { ...BASE, BOOTWARDEN_SOURCE_TOPIC: 'shielded-vm-integrity' },
      'BOOTWARDEN_SOURCE_TOPIC must be a full topic name, projects/PROJECT/topics/TOPIC, got "shielded-vm-integrity"',
    ],
    [{ ...BASE, BOOTWARDEN_COLLECTION_PREFIX: 'Bad/Prefix' }, 'BOOTWARDEN_COLLECTION_PREFIX must be'],
    [
      { ...BASE, BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT: '-1' },
      'BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT must be a whole number from 0 to 500, got "-1"',
    ],
    [
      { ...BASE, BOOTWARDEN_MAX_STOPS_PER_PROJECT: '2.5' },
      'BOOTWARDEN_MAX_STOPS_PER_PROJECT must be a whole number from 0 to 500, got "2.5"',
    ],
    [{ ...BASE, BOOTWARDEN_MAX_STOPS: '501' }, 'BOOTWARDEN_MAX_STOPS must be a whole number from 0 to 500, got "501"'],
    [{ ...BASE, BOOTWARDEN_MAX_STOPS: 'ten' }, 'BOOTWARDEN_MAX_STOPS must be a whole number from 0 to 500, got "ten"'],
    [{ ...BASE, BOOTWARDEN_RETENTION_DAYS: '0' }, 'BOOTWARDEN_RETENTION_DAYS must be at least 1 day, got "0"'],
    [{ ...BASE, BOOTWARDEN_RETENTION_DAYS: '3651' }, 'BOOTWARDEN_RETENTION_DAYS must be a whole number from 0 to 3650, got "3651"'],
    [{ ...BASE, BOOTWARDEN_MAX_BOOT_COUNTER_JUMP: '0' }, 'BOOTWARDEN_MAX_BOOT_COUNTER_JUMP must be at least 1'],
    [{ ...BASE, BOOTWARDEN_MAX_BOOT_COUNTER_JUMP: '1000001' }, 'BOOTWARDEN_MAX_BOOT_COUNTER_JUMP must be a whole number from 0 to 1000000'],
    [{ ...BASE, BOOTWARDEN_STOP_WINDOW_SECONDS: '59' }, 'BOOTWARDEN_STOP_WINDOW_SECONDS must be at least 60 seconds, got "59"'],
    [
      { ...BASE, BOOTWARDEN_STOP_WINDOW_SECONDS: '86401' },
      'BOOTWARDEN_STOP_WINDOW_SECONDS must be a whole number from 0 to 86400, got "86401"',
    ],
  ])('%j → ConfigError naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('jsonLogger', () => {
  it('writes Cloud Logging JSON with severity, labels and the trace of the request', () => {
    const lines: string[] = [];
    const log = jsonLogger({
      component: 'function',
      project: 'acme-sec',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      write: (l) => lines.push(l),
    });
    log.warn('took over', { eventKey: 'k' });
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({
      severity: 'WARNING',
      message: 'took over',
      eventKey: 'k',
      'logging.googleapis.com/labels': { component: 'function' },
      'logging.googleapis.com/trace': 'projects/acme-sec/traces/4bf92f3577b34da6a3ce929d0e0e4736',
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
    });
    expect(lines[0]?.endsWith('\n')).toBe(true);
  });

  it('omits the trace when there is none', () => {
    const lines: string[] = [];
    jsonLogger({ component: 'function', write: (l) => lines.push(l) }).error('x');
    expect(JSON.parse(lines[0] ?? '{}')).not.toHaveProperty('logging.googleapis.com/trace');
  });
});
