/**
 * The function's CloudEvent handler in process, with its ports as in-memory fakes: how a delivery
 * becomes an ingest call, and how the result becomes acknowledgement (return) or redelivery
 * (throw, logged once for the operator). The same handler runs over HTTP in
 * test/integration/function.test.ts; here StrykerJS can mutate it.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { newBaseline } from '../../core/baseline.js';
import { BootwardenError } from '../../core/errors.js';
import type { JsonObject } from '../../core/json.js';
import { fingerprint } from '../../core/measurements.js';
import { createHandler, type IncomingCloudEvent } from '../../functions/handler.js';
import { settingsFrom, type Wiring } from '../../functions/wiring.js';
import { eventarcBody } from '../../devstack/entries.js';
import { failedLateBoot, KERNEL_26, LINUX_VM } from '../support/fixtures.js';
import { INGEST_SETTINGS, memoryPorts, RecordingLogger } from '../support/memory-ports.js';

function world(options: { deadlineMs?: number; wiringError?: Error; sourceTopic?: string | null } = {}) {
  const parts = memoryPorts(newBaseline(KERNEL_26, { addedBy: 'a', addedAt: 'b', sourceEntry: null, note: null }));
  const loggers: { traceparent: string | undefined; logger: RecordingLogger }[] = [];
  const wiring: Wiring = {
    deps: {
      ...parts,
      now: () => new Date('2026-11-01T10:00:02.000Z'),
      sleep: () => new Promise((r) => setImmediate(r)),
    },
    settings: {
      ...INGEST_SETTINGS,
      sourceTopic: options.sourceTopic === undefined ? 'projects/acme-prod/topics/shielded-vm-integrity' : options.sourceTopic,
    },
    deadlineMs: options.deadlineMs ?? 30_000,
  };
  const handler = createHandler(
    () => {
      if (options.wiringError !== undefined) throw options.wiringError;
      return wiring;
    },
    (traceparent) => {
      const logger = new RecordingLogger();
      loggers.push({ traceparent, logger });
      return logger;
    },
  );
  return { ...parts, handler, loggers, lines: () => loggers.flatMap((l) => l.logger.lines) };
}

const ce = (data: unknown, extra: Partial<IncomingCloudEvent> = {}): IncomingCloudEvent => ({
  id: '4356841712468193571',
  specversion: '1.0',
  type: 'google.cloud.pubsub.topic.v1.messagePublished',
  source: '//pubsub.googleapis.com/projects/acme-prod/topics/shielded-vm-integrity',
  data,
  ...extra,
});

describe('createHandler', () => {
  it.each([
    ['an object (structured or binary mode, parsed by functions-framework)', (b: JsonObject): unknown => b],
    ['a JSON string', (b: JsonObject): unknown => JSON.stringify(b)],
    ['a Buffer of JSON', (b: JsonObject): unknown => Buffer.from(JSON.stringify(b))],
  ])('reads data given as %s and starts the relearn', async (_name, shape) => {
    const w = world();
    const result = await w.handler(ce(shape(eventarcBody(failedLateBoot(), 'msg-1'))));
    expect(result).toMatchObject({ status: 'decided', decision: { action: 'relearn', baselineId: fingerprint(KERNEL_26) } });
    expect(w.starter.started.map((s) => s.argument.instance)).toEqual([LINUX_VM]);
    expect(w.starter.started[0]?.argument.messageId).toBe('msg-1');
    expect(w.lines().filter((l) => l.severity === 'ERROR')).toEqual([]);
  });

  it('data that is not JSON is rejected and recorded, and acknowledged (no throw)', async () => {
    const w = world();
    const result = await w.handler(ce('{"message": {'));
    expect(result).toMatchObject({ status: 'rejected', rejection: { code: 'invalid_json' } });
    expect([...w.rejected.records.values()].map((r) => r.rejection.code)).toEqual(['invalid_json']);
    expect(w.starter.started).toEqual([]);
  });

  it('a CloudEvent without attributes or data is rejected for its type, and recorded', async () => {
    const w = world();
    const result = await w.handler({});
    expect(result).toMatchObject({
      status: 'rejected',
      rejection: {
        code: 'unexpected_event_type',
        field: 'ce-type',
        message: 'the CloudEvent type is "", not google.cloud.pubsub.topic.v1.messagePublished',
      },
    });
    expect([...w.rejected.records.values()].map((r) => r.rejection.code)).toEqual(['unexpected_event_type']);
    expect(w.starter.started).toEqual([]);
  });

  it('without BOOTWARDEN_SOURCE_TOPIC, the first event of an instance warns that any topic is acted on, once', async () => {
    const w = world({ sourceTopic: null });
    await w.handler(ce(eventarcBody(failedLateBoot(), 'msg-w1')));
    await w.handler(ce(eventarcBody(failedLateBoot({ bootCounter: 8 }), 'msg-w2')));
    expect(w.lines().filter((l) => l.severity === 'WARNING')).toEqual([
      {
        severity: 'WARNING',
        message:
          "BOOTWARDEN_SOURCE_TOPIC is not set: messagePublished events of any Pub/Sub topic are acted on; set it to the log sink's topic (projects/P/topics/T)",
        fields: { code: 'source_topic_unset' },
      },
    ]);
    expect(w.starter.started).toHaveLength(2);
  });

  it('passes the trace header to the logger only when it is a string', async () => {
    const w = world();
    await w.handler(
      ce(eventarcBody(failedLateBoot(), 'msg-2'), { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }),
    );
    await w.handler(ce(eventarcBody(failedLateBoot({ bootCounter: 8 }), 'msg-3'), { traceparent: 42 }));
    expect(w.loggers.map((l) => l.traceparent)).toEqual(['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', undefined]);
  });

  it('a retryable failure is logged once with its code and rethrown, so Eventarc redelivers', async () => {
    const w = world();
    w.ledger.down = true;
    const delivery = ce(eventarcBody(failedLateBoot(), 'msg-4'));
    await expect(w.handler(delivery)).rejects.toMatchObject({ code: 'store_unavailable', retryable: true });
    expect(w.lines()).toEqual([
      {
        severity: 'ERROR',
        message: 'event 4356841712468193571 not processed (will be redelivered): ledger down (test)',
        fields: { code: 'store_unavailable', retryable: true, cloudEventId: '4356841712468193571' },
      },
    ]);
  });

  it('a configuration error says the event waits for the configuration to be fixed', async () => {
    const w = world({ wiringError: new BootwardenError('config_invalid', 'BOOTWARDEN_WORKFLOW is not set', { retryable: false }) });
    await expect(w.handler(ce(eventarcBody(failedLateBoot(), 'msg-5')))).rejects.toMatchObject({ code: 'config_invalid' });
    expect(w.lines()).toEqual([
      {
        severity: 'ERROR',
        message:
          'event 4356841712468193571 not processed (will be redelivered once the configuration is fixed): BOOTWARDEN_WORKFLOW is not set',
        fields: { code: 'config_invalid', retryable: false, cloudEventId: '4356841712468193571' },
      },
    ]);
  });

  it('an unexpected error is logged as internal, with its stack, and rethrown', async () => {
    const w = world();
    w.starter.start = () => Promise.reject(new TypeError('boom'));
    await expect(w.handler(ce(eventarcBody(failedLateBoot(), 'msg-6'), { id: undefined }))).rejects.toThrow('boom');
    const [line, ...more] = w.lines().filter((l) => l.severity === 'ERROR');
    expect(more).toEqual([]);
    expect(line?.message).toBe('event ? not processed (internal error, will be redelivered): boom');
    expect(line?.fields).toMatchObject({ code: 'internal', cloudEventId: undefined });
    expect(line?.fields['stack_trace']).toMatch(/^TypeError: boom\n/);
  });

  it('a delivery not handled within the deadline fails as retryable, naming the event', async () => {
    const w = world({ deadlineMs: 20 });
    w.starter.start = () => new Promise(() => undefined);
    await expect(w.handler(ce(eventarcBody(failedLateBoot(), 'msg-7')))).rejects.toMatchObject({
      code: 'store_unavailable',
      retryable: true,
      message: 'event 4356841712468193571 not handled within 0.02 s (Firestore or Workflows unreachable?)',
    });
  });
});

describe('settingsFrom', () => {
  it('turns the configuration into ingest settings (seconds into milliseconds)', () => {
    const config = loadConfig({
      GOOGLE_CLOUD_PROJECT: 'acme-sec',
      BOOTWARDEN_WORKFLOW_LOCATION: 'us-central1',
      BOOTWARDEN_DRY_RUN: 'true',
      BOOTWARDEN_STOP_ON_EARLY_BOOT: 'true',
      BOOTWARDEN_ALLOWED_PROJECTS: 'acme-prod,acme-dev',
      BOOTWARDEN_SOURCE_TOPIC: 'projects/acme-sec/topics/shielded-vm-integrity',
      BOOTWARDEN_CLAIM_LEASE_SECONDS: '90',
      BOOTWARDEN_WAIT_FOR_OWNER_SECONDS: '12',
      BOOTWARDEN_COLLECTION_PREFIX: 'bw_',
      BOOTWARDEN_BASELINE_COLLECTION: 'tutorial_baselines',
      BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT: '5',
      BOOTWARDEN_MAX_BOOT_COUNTER_JUMP: '250',
    });
    expect(settingsFrom(config)).toEqual({
      dryRun: true,
      stopOnEarlyBootFailure: true,
      allowedProjects: ['acme-prod', 'acme-dev'],
      sourceTopic: 'projects/acme-sec/topics/shielded-vm-integrity',
      claimLeaseMs: 90_000,
      waitForOwnerMs: 12_000,
      pollMs: 200,
      collections: {
        prefix: 'bw_',
        baselines: 'tutorial_baselines',
        events: 'bw_events',
        instances: 'bw_instances',
        deliveries: 'bw_deliveries',
        rejectedInputs: 'bw_rejected_inputs',
        stopSlots: 'bw_stop_slots',
      },
      blastRadius: { perFingerprint: 5, perProject: 10, overall: 20, windowSeconds: 3600 },
      maxBootCounterJump: 250,
    });
  });
});
