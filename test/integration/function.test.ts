/**
 * The Eventarc function over real HTTP (functions-framework in a child process), with Firestore
 * through the official client against the emulator and the local ExecutionStarter recording what
 * it was asked to start.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baselineToDocument, newBaseline } from '../../core/baseline.js';
import { eventKeyOf, messageDocId, RESPONSE_WORKFLOW_ID } from '../../core/contracts.js';
import { KNOWN_EVENT_KINDS } from '../../core/event.js';
import { MAX_PUSH_BODY_BYTES, type JsonObject } from '../../core/json.js';
import { fingerprint } from '../../core/measurements.js';
import { bootReportEntry, eventarcBody, pubsubMessage, simpleEventEntry } from '../../devstack/entries.js';
import { postEventarc } from '../../devstack/eventarc.js';
import { firestoreEmulatorKind, useFirestore } from '../../packages/workflows-emulator/test/support/firestore.js';
import { edited, KERNEL_25, KERNEL_26, TAMPERED, WINDOWS_NOV, WINDOWS_OCT } from '../support/fixtures.js';
import { postBinary, postStructured, startFunction, type FunctionServer } from '../support/function-server.js';
import { lossyFront } from '../support/lossy-front.js';
import { tcpProxy } from '../support/tcp-proxy.js';

const fs = useFirestore();
let server: FunctionServer;
let vmCount = 0;

/** A fresh VM per test, so that tests share nothing but the server. */
function vm() {
  vmCount++;
  return { id: String(7_000_000_000_000_000_000n + BigInt(vmCount)), project: 'acme-prod', zone: 'us-central1-a' };
}

const late = (instance: ReturnType<typeof vm>, actual = KERNEL_26, bootCounter = 7, policy = KERNEL_25): JsonObject =>
  bootReportEntry('lateBootReportEvent', { instance, bootCounter, actual, policy, insertId: `ins-${instance.id}-${bootCounter}` });

const keyOf = (e: JsonObject): string => eventKeyOf(e as unknown as { logName: string; insertId: string; timestamp: string });
const executionsFor = (e: JsonObject) => server.executions().filter((x) => x.labels['event'] === keyOf(e).slice(0, 63));
const collection = (name: string) => fs.db().collection(`${fs.prefix}${name}`);
/**
 * Every execution the function started while `work` ran, whatever its labels: a wrong execution
 * need not carry the event's label. The tests of this file run one at a time.
 */
async function startedDuring(work: () => Promise<void>) {
  const before = server.executions().length;
  await work();
  return server.executions().slice(before);
}

/** The tests of this file stop many VMs with the same measurements: the blast-radius guard is tested on its own server. */
const NO_GUARD = {
  BOOTWARDEN_MAX_STOPS_PER_FINGERPRINT: '500',
  BOOTWARDEN_MAX_STOPS_PER_PROJECT: '500',
  BOOTWARDEN_MAX_STOPS: '500',
};

beforeAll(async () => {
  const known = newBaseline(KERNEL_26, { addedBy: 'test', addedAt: '2026-11-01T00:00:00Z', sourceEntry: null, note: null });
  await collection('baselines').doc(known.id).set(baselineToDocument(known));
  server = await startFunction({
    BOOTWARDEN_COLLECTION_PREFIX: fs.prefix,
    BOOTWARDEN_BASELINE_COLLECTION: `${fs.prefix}baselines`,
    BOOTWARDEN_WAIT_FOR_OWNER_SECONDS: '15',
    ...NO_GUARD,
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('onIntegrityEvent over HTTP', () => {
  it('a body that is not JSON is refused by functions-framework itself (400) and starts nothing', async () => {
    // Eventarc always posts a JSON envelope; this can only come from a misdirected client.
    const started = await startedDuring(async () => {
      expect((await postBinary(server.url, '{"message": {')).status).toBe(400);
    });
    expect(started).toEqual([]);
  });

  it('known-good (binary mode): 2xx, one relearn execution, the ledger records it', async () => {
    const entry = late(vm());
    const res = await postBinary(server.url, eventarcBody(entry, 'msg-a1'));
    expect(res.status).toBeLessThan(300);
    const [ex] = executionsFor(entry);
    expect(ex?.labels['action']).toBe('relearn');
    expect(ex?.argument).toMatchObject({ decision: { action: 'relearn' }, baselineId: fingerprint(KERNEL_26), messageId: 'msg-a1' });
    const record = (await collection('events').doc(keyOf(entry)).get()).data();
    expect(record).toMatchObject({ state: 'done', outcome: 'decided', executionName: ex?.name, decision: { action: 'relearn' } });
    expect((await collection('deliveries').doc(messageDocId('msg-a1')).get()).data()).toMatchObject({
      messageId: 'msg-a1',
      eventKey: keyOf(entry),
    });
  });

  it('unknown (structured mode): one stop execution carrying the baseline to promote', async () => {
    const entry = late(vm(), TAMPERED);
    const res = await postStructured(server.url, eventarcBody(entry, 'msg-b1'));
    expect(res.status).toBeLessThan(300);
    const [ex] = executionsFor(entry);
    expect(ex?.argument).toMatchObject({ decision: { action: 'stop' }, fingerprint: fingerprint(TAMPERED), promotion: { metadata: {} } });
  });

  it("a tutorial user's document (baseline1, made in the console) is known-good whatever its id: relearn", async (ctx) => {
    ctx.skip(firestoreEmulatorKind() === 'npm', 'the npm Firestore emulator cannot run the look-up by PCR values (nested-field filters)');
    const measurements = WINDOWS_NOV;
    await collection('baselines')
      .doc('baseline1')
      .set(Object.fromEntries(measurements.map((m) => [m.pcrNum, { ...m }])));
    const entry = late(vm(), measurements, 7, WINDOWS_OCT);
    expect((await postBinary(server.url, eventarcBody(entry, 'msg-t1'))).status).toBeLessThan(300);
    const [ex] = executionsFor(entry);
    expect(ex?.labels['action']).toBe('relearn');
    expect(ex?.argument).toMatchObject({ decision: { action: 'relearn', reasonCode: 'known_good' }, baselineId: 'baseline1' });
  });

  it('a report that passes starts nothing', async () => {
    const entry = late(vm(), KERNEL_25);
    const started = await startedDuring(async () => {
      expect((await postBinary(server.url, eventarcBody(entry, 'msg-c1'))).status).toBeLessThan(300);
    });
    expect(started).toEqual([]);
    expect((await collection('events').doc(keyOf(entry)).get()).data()).toMatchObject({ outcome: 'ignored' });
  });

  it.each([...KNOWN_EVENT_KINDS.filter((k) => !k.endsWith('BootReportEvent')), 'futureEvent'])('%s starts nothing', async (kind) => {
    const entry = simpleEventEntry(kind, { instance: vm(), bootCounter: 3 });
    const started = await startedDuring(async () => {
      expect((await postBinary(server.url, eventarcBody(entry, `msg-k-${kind}`))).status).toBeLessThan(300);
    });
    expect(started).toEqual([]);
  });

  it('a redelivered message, and the same entry in another message, start one execution', async () => {
    const entry = late(vm(), TAMPERED);
    for (const id of ['msg-d1', 'msg-d1', 'msg-d2'])
      expect((await postBinary(server.url, eventarcBody(entry, id))).status).toBeLessThan(300);
    expect(executionsFor(entry)).toHaveLength(1);
  });

  it('50 concurrent deliveries of one message start one execution', async () => {
    const entry = late(vm(), TAMPERED);
    const body = eventarcBody(entry, 'msg-e1');
    const statuses = await Promise.all(Array.from({ length: 50 }, () => postBinary(server.url, body).then((r) => r.status)));
    expect(statuses.every((s) => s < 300)).toBe(true);
    expect(executionsFor(entry)).toHaveLength(1);
  });

  it('a stale known-good report (the VM booted again since) starts nothing: never relearned', async () => {
    const instance = vm();
    // The VM booted again: its next boot's early-boot report (boots are recorded from boot reports only).
    const next = bootReportEntry('earlyBootReportEvent', { instance, bootCounter: 9, actual: KERNEL_26, policy: KERNEL_26 });
    await postBinary(server.url, eventarcBody(next, 'msg-f1'));
    const entry = late(instance, KERNEL_26, 8);
    const started = await startedDuring(async () => {
      expect((await postBinary(server.url, eventarcBody(entry, 'msg-f2'))).status).toBeLessThan(300);
    });
    expect(started).toEqual([]);
    expect((await collection('events').doc(keyOf(entry)).get()).data()).toMatchObject({ outcome: 'stale' });
  });

  // Root on a VM writes entries with any bootCounter (gcloud logging write): a genuine failed
  // report after them is lower, and is acted on all the same.
  it.each([
    ['a forged passing early-boot report at boot 6 + 100', ['6', '106'], 'h1'],
    ['a forged first-seen boot 2^64-1', ['18446744073709551615'], 'h2'],
  ])('%s, then a genuine failed boot-7 report with unknown measurements: a stop, recorded as a counter anomaly', async (_, forged, tag) => {
    const instance = vm();
    for (const [i, boot] of forged.entries()) {
      const claim = bootReportEntry('earlyBootReportEvent', { instance, bootCounter: boot, actual: KERNEL_26, policy: KERNEL_26 });
      expect((await postBinary(server.url, eventarcBody(claim, `msg-${tag}-${i}`))).status).toBeLessThan(300);
    }
    const genuine = late(instance, TAMPERED, 7);
    expect((await postBinary(server.url, eventarcBody(genuine, `msg-${tag}-g`))).status).toBeLessThan(300);
    const [ex] = executionsFor(genuine);
    expect(ex?.argument).toMatchObject({ decision: { action: 'stop', reasonCode: 'unknown_measurements' }, bootCounter: '7' });
    const latestBoot = forged[forged.length - 1];
    expect((await collection('events').doc(keyOf(genuine)).get()).data()).toMatchObject({
      outcome: 'decided',
      counterAnomaly: { kind: 'backwards', bootCounter: '7', latestBoot },
    });
    const state = await collection('instances').doc(`${instance.project}:${instance.zone}:${instance.id}`).get();
    expect(state.get('counterAnomaly')).toMatchObject({ kind: 'backwards', bootCounter: '7', latestBoot, eventKey: keyOf(genuine) });
  });

  it('after a relearn, a stale passing report with other measurements is a relearn_mismatch stop', async () => {
    const instance = vm();
    // What the workflow writes after relearning boot 7 on KERNEL_26 (workflows/integrity-response.workflows.yaml).
    await collection('instances')
      .doc(`${instance.project}:${instance.zone}:${instance.id}`)
      .set({
        relearned: {
          fingerprint: fingerprint(KERNEL_26),
          bootCounter: '7',
          eventKey: 'e'.repeat(64),
          execution: 'projects/acme-ops/locations/us-central1/workflows/bootwarden-response/executions/x',
          at: '2026-11-01T10:00:01.000000Z',
          pcrs: Object.fromEntries(KERNEL_26.map((m) => [m.pcrNum, { ...m }])),
        },
      });
    const forged = bootReportEntry('earlyBootReportEvent', { instance, bootCounter: 106, actual: KERNEL_26, policy: KERNEL_26 });
    await postBinary(server.url, eventarcBody(forged, 'msg-h3-0'));
    // The genuine next boot, with a rootkit that passes the relearned policy.
    const genuine = late(instance, TAMPERED, 8, TAMPERED);
    expect((await postBinary(server.url, eventarcBody(genuine, 'msg-h3-g'))).status).toBeLessThan(300);
    const [ex] = executionsFor(genuine);
    expect(ex?.argument).toMatchObject({
      decision: { action: 'stop', reasonCode: 'relearn_mismatch' },
      fingerprint: fingerprint(TAMPERED),
    });
  });

  it.each([
    ['data not base64', { message: { messageId: 'msg-g2', data: 'not base64!' }, subscription: 's' }, 'invalid_base64', 'msg-g2'],
    [
      'data not JSON',
      { message: { messageId: 'msg-g3', data: Buffer.from('hello').toString('base64') }, subscription: 's' },
      'invalid_json',
      'msg-g3',
    ],
    [
      'not an integrity entry',
      eventarcBody(
        edited(late(vm()), (e) => (e.jsonPayload['@type'] = 'type.googleapis.com/google.cloud.audit.AuditLog')),
        'msg-g4',
      ),
      'wrong_payload_type',
      'msg-g4',
    ],
    [
      'another log',
      eventarcBody(
        edited(late(vm()), (e) => (e.logName = 'projects/acme-prod/logs/syslog')),
        'msg-g5',
      ),
      'wrong_log_name',
      'msg-g5',
    ],
    [
      'duplicate PCR',
      eventarcBody(
        edited(late(vm()), (e) => (e.jsonPayload.lateBootReportEvent.actualMeasurements[2].pcrNum = 'PCR_0')),
        'msg-g6',
      ),
      'duplicate_pcr',
      'msg-g6',
    ],
    [
      'instance id as a number',
      eventarcBody(
        edited(late(vm()), (e) => (e.resource.labels.instance_id = 123)),
        'msg-g7',
      ),
      'invalid_field',
      'msg-g7',
    ],
    [
      'a Pub/Sub message without the Eventarc wrapper',
      pubsubMessage(
        edited(late(vm()), (e) => delete e.insertId),
        'msg-g8',
      ),
      'missing_field',
      'msg-g8',
    ],
  ])('bad input (%s): 2xx, recorded as %s, nothing started', async (_name, body, code, messageId) => {
    const started = await startedDuring(async () => {
      expect((await postBinary(server.url, body)).status).toBeLessThan(300);
    });
    expect(started).toEqual([]);
    // One record per message, under msg-<sha256 of the message id> (read by id: the npm emulator cannot filter on nested fields).
    const recorded = (
      await collection('rejected_inputs')
        .doc(`msg-${messageDocId(messageId)}`)
        .get()
    ).data() as { rejection: { code: string }; context: { messageId: string } } | undefined;
    expect([recorded?.rejection.code, recorded?.context.messageId]).toEqual([code, messageId]);
  });
});

/** What a raw HTTP/1.1 client saw: the answer's status line and body, and how many body bytes it could send. */
async function rawPost(url: string, headers: string, body: (socket: net.Socket) => Promise<number>) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.write(
    `POST / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nce-id: 9812273641520031\r\nce-specversion: 1.0\r\nce-type: google.cloud.pubsub.topic.v1.messagePublished\r\nce-source: //pubsub.googleapis.com/projects/acme-sec/topics/t\r\n${headers}\r\n`,
  );
  const sent = await body(socket);
  await closed;
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]), body: answer.slice(answer.indexOf('\r\n\r\n') + 4), sent };
}

/** Writes `chunk` until the server closes the connection or `max` bytes went; the bytes written. */
async function writeUntilClosed(socket: net.Socket, chunk: Buffer, max: number, frame: (b: Buffer) => Buffer = (b) => b): Promise<number> {
  let sent = 0;
  while (sent < max && !socket.destroyed && socket.writable) {
    const ok = socket.write(frame(chunk));
    sent += chunk.length;
    if (!ok) await new Promise<void>((resolve) => (socket.once('drain', resolve), socket.once('close', resolve)));
  }
  return sent;
}

describe('onIntegrityEvent bounds what it buffers and records', () => {
  const MB150 = 150 * 1024 * 1024;
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  const refusal = { error: `the body is larger than ${MAX_PUSH_BODY_BYTES} bytes, more than any Pub/Sub push can be: refused unread` };

  it('a Content-Length of 150 MB: 413 before a byte of the body is read, the connection closed, nothing recorded', async () => {
    const rejectedBefore = (await collection('rejected_inputs').get()).size;
    const started = await startedDuring(async () => {
      // Only the headers go: the answer comes without the body, which was never sent.
      const r = await rawPost(server.url, `Content-Length: ${MB150}\r\n`, () => Promise.resolve(0));
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toEqual(refusal);
    });
    expect(started).toEqual([]);
    expect((await collection('rejected_inputs').get()).size).toBe(rejectedBefore);
  });

  it('a chunked body growing to 150 MB: 413 and the connection cut once past the bound, far from the whole body', async () => {
    const frame = (b: Buffer): Buffer => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
    const r = await rawPost(server.url, 'Transfer-Encoding: chunked\r\n', (socket) => writeUntilClosed(socket, chunk, MB150, frame));
    // The 413 is best effort here: the sender is still writing when the connection closes, and a close
    // with unread data can reset it before the sender reads the answer (seen under load). What must
    // hold is the cut: the answer, when it arrives, is the refusal.
    if (!Number.isNaN(r.status)) {
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toEqual(refusal);
    }
    // The bound, plus what the two sockets' buffers held when the connection was cut.
    expect(r.sent).toBeLessThan(MAX_PUSH_BODY_BYTES + 16 * 1024 * 1024);
  });

  it('a delivery within the bound sent chunked, in pieces that arrive after the request began: read whole and acted on', async () => {
    // The bound counts a chunked body as it arrives; counting must not take a piece from the parser.
    const entry = late(vm(), TAMPERED);
    const body = Buffer.from(JSON.stringify(eventarcBody(entry, '9812273641520031')));
    const frame = (b: Buffer): Buffer => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
    const third = Math.ceil(body.length / 3);
    const started = await startedDuring(async () => {
      const r = await rawPost(server.url, 'Transfer-Encoding: chunked\r\nConnection: close\r\n', async (socket) => {
        for (let at = 0; at < body.length; at += third) {
          socket.write(frame(body.subarray(at, at + third)));
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        socket.write('0\r\n\r\n');
        return body.length;
      });
      expect(r.status).toBeLessThan(300);
    });
    expect(started.map((x) => x.labels['event'])).toEqual([keyOf(entry).slice(0, 63)]);
  });

  it('a 500 KB body of five unknown 100 KB keys (unrecognized_envelope): 2xx, recorded in a few KB, keys cut', async () => {
    const body = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((c) => [c.repeat(100_000), 'v']));
    const before = new Set((await collection('rejected_inputs').get()).docs.map((d) => d.id));
    expect((await postBinary(server.url, body)).status).toBeLessThan(300);
    const added = (await collection('rejected_inputs').get()).docs.filter((d) => !before.has(d.id));
    expect(added).toHaveLength(1);
    const record = added[0]!.data() as { rejection: { code: string; message: string }; raw: string; rawBytes: number; truncated: boolean };
    expect(record.rejection.code).toBe('unrecognized_envelope');
    expect(record.rejection.message).toBe(
      `input is neither a LogEntry, a Pub/Sub message nor an Eventarc event (top-level keys: ${['a', 'b', 'c', 'd', 'e'].map((c) => `${c.repeat(39)}…`).join(', ')})`,
    );
    expect(record.truncated).toBe(true);
    expect(record.rawBytes).toBeGreaterThan(500_000);
    expect(Buffer.byteLength(record.raw)).toBe(16 * 1024);
  });

  it('the function still serves the next delivery', async () => {
    const entry = late(vm(), TAMPERED);
    const started = await startedDuring(async () => {
      expect((await postBinary(server.url, JSON.stringify(eventarcBody(entry, '9812273641520032')))).status).toBeLessThan(300);
    });
    expect(started).toHaveLength(1);
  });
});

describe("onIntegrityEvent acts only on the log sink's events", () => {
  it('another CloudEvent type, another topic, a project not allowed: 2xx, recorded with their codes, nothing started', async () => {
    const guarded = await startFunction({
      BOOTWARDEN_COLLECTION_PREFIX: `${fs.prefix}g_`,
      BOOTWARDEN_BASELINE_COLLECTION: `${fs.prefix}baselines`,
      BOOTWARDEN_SOURCE_TOPIC: 'projects/demo-bootwarden/topics/shielded-vm-integrity',
      BOOTWARDEN_ALLOWED_PROJECTS: 'acme-prod',
    });
    try {
      const post = async (body: JsonObject, opts: Parameters<typeof postEventarc>[2]): Promise<number> => {
        const res = await postEventarc(guarded.url, body, opts);
        await res.arrayBuffer();
        return res.status;
      };
      const statuses = [
        await post(eventarcBody(late(vm()), 'msg-s1'), { type: 'google.cloud.storage.object.v1.finalized' }),
        await post(eventarcBody(late(vm()), 'msg-s2'), { source: '//pubsub.googleapis.com/projects/attacker/topics/forged' }),
        await post(eventarcBody(late({ ...vm(), project: 'acme-dev' }), 'msg-s3'), {}),
        await post(eventarcBody(late(vm(), TAMPERED), 'msg-s4'), {}),
      ];
      expect(statuses.every((s) => s >= 200 && s < 300)).toBe(true);
      const recorded = await fs.db().collection(`${fs.prefix}g_rejected_inputs`).get();
      expect(Object.fromEntries(recorded.docs.map((d) => [d.id, (d.data() as { rejection: { code: string } }).rejection.code]))).toEqual({
        'msg-1c556a8dfb98e15f5ae3d101dd2e9d06bc8857d9f8e8dea22df3ec2c85545c4c': 'unexpected_event_type',
        'msg-907b56d34b5b85855e5b4c7d4fac7cf1462d17472bb3f92b7aefa7ee7f5d458e': 'unexpected_source',
        'msg-4bf4aaa58c0f63e84ba1d3c7f50693f69602583db50adf0207542740d7d14830': 'project_not_allowed',
      });
      // Only the sink's own event for an allowed project started an execution.
      expect(guarded.executions().map((x) => x.labels['action'])).toEqual(['stop']);
    } finally {
      await guarded.stop();
    }
  });
});

describe('onIntegrityEvent when Firestore is unreachable', () => {
  it('answers non-2xx, and the redelivery once Firestore is back starts exactly one execution', async () => {
    const proxy = await tcpProxy(process.env['FIRESTORE_EMULATOR_HOST'] ?? '');
    const cut = await startFunction({
      FIRESTORE_EMULATOR_HOST: proxy.host,
      BOOTWARDEN_COLLECTION_PREFIX: fs.prefix,
      BOOTWARDEN_BASELINE_COLLECTION: `${fs.prefix}baselines`,
      BOOTWARDEN_DEADLINE_SECONDS: '2',
      ...NO_GUARD,
    });
    try {
      const entry = late(vm(), TAMPERED);
      const body = eventarcBody(entry, 'msg-h1');
      await proxy.down();
      expect((await postBinary(cut.url, body)).status).toBeGreaterThanOrEqual(500);
      await proxy.up();
      // Eventarc redelivers with backoff until the function answers 2xx.
      let status = 0;
      for (let i = 0; i < 30 && !(status >= 200 && status < 300); i++) {
        status = (await postBinary(cut.url, body)).status;
        if (status >= 300) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(status).toBeLessThan(300);
      expect(cut.executions().filter((x) => x.labels['event'] === keyOf(entry).slice(0, 63))).toHaveLength(1);
    } finally {
      await cut.stop();
      await proxy.close();
    }
  }, 90_000);
});

describe('onIntegrityEvent when the answer to executions.create is lost', () => {
  it('after 600 newer executions, the redelivery that takes over finds the execution started and starts no second one', async () => {
    let front: Awaited<ReturnType<typeof lossyFront>> | undefined;
    const lossy = await startFunction(
      {
        BOOTWARDEN_COLLECTION_PREFIX: fs.prefix,
        BOOTWARDEN_BASELINE_COLLECTION: `${fs.prefix}baselines`,
        BOOTWARDEN_CLAIM_LEASE_SECONDS: '1',
        BOOTWARDEN_WAIT_FOR_OWNER_SECONDS: '0',
        ...NO_GUARD,
      },
      {
        front: async (apiUrl) => {
          front = await lossyFront(apiUrl);
          return front.url;
        },
      },
    );
    try {
      const entry = late(vm(), TAMPERED);
      const label = keyOf(entry).slice(0, 63);
      const body = eventarcBody(entry, 'msg-lost-1');
      front?.loseNextAnswer('POST', /\/executions$/);
      expect((await postBinary(lossy.url, body)).status).toBeGreaterThanOrEqual(500);
      expect(front?.seen.filter((s) => s.lost)).toEqual([
        { request: expect.stringMatching(/^POST .*\/executions$/) as string, lost: true },
      ]);
      // The execution exists although the function never learnt its name.
      expect(lossy.executions().filter((x) => x.labels['event'] === label)).toHaveLength(1);
      // A burst elsewhere in the fleet: more than the 500 newest executions a page scan would read.
      for (let i = 0; i < 600; i++) {
        lossy.engine.startExecution(RESPONSE_WORKFLOW_ID, {
          argument: JSON.stringify({ eventKey: `other-${i}` }),
          labels: { event: `other-${i}` },
        });
      }
      // Eventarc redelivers; once the 1 s lease has passed, a delivery takes the event over.
      let status = 0;
      for (let i = 0; i < 30 && !(status >= 200 && status < 300); i++) {
        await new Promise((r) => setTimeout(r, 1100));
        status = (await postBinary(lossy.url, body)).status;
      }
      expect(status).toBeLessThan(300);
      expect(lossy.executions().filter((x) => x.labels['event'] === label)).toHaveLength(1);
      const record = await collection('events').doc(keyOf(entry)).get();
      expect(record.data()).toMatchObject({ state: 'done', outcome: 'decided', attempt: 2 });
      expect(record.get('executionName')).toBe(lossy.executions().find((x) => x.labels['event'] === label)?.name);
    } finally {
      await lossy.stop();
      await front?.close();
    }
  }, 90_000);
});

describe('onIntegrityEvent under a rollout: the blast-radius guard', () => {
  it('200 concurrent reports of one unknown fingerprint: exactly 3 VMs stopped, the other 197 held, each VM in exactly one state', async () => {
    const prefix = `${fs.prefix}b_`;
    // The defaults (3 per fingerprint), on a window of a day: the 200 requests share one window
    // unless they straddle midnight UTC, which the assertions below account for.
    const guarded = await startFunction({
      BOOTWARDEN_COLLECTION_PREFIX: prefix,
      BOOTWARDEN_BASELINE_COLLECTION: `${fs.prefix}baselines`,
      BOOTWARDEN_STOP_WINDOW_SECONDS: '86400',
    });
    try {
      const vms = Array.from({ length: 200 }, () => vm());
      const statuses = await Promise.all(
        vms.map(async (v, n) => {
          const res = await postBinary(guarded.url, eventarcBody(late(v, TAMPERED), `msg-r${n}`));
          await res.arrayBuffer();
          return res.status;
        }),
      );
      expect(statuses.filter((s) => s < 200 || s >= 300)).toEqual([]);
      const started = guarded.executions();
      const byVm = new Map<string, string[]>();
      for (const x of started) {
        const id = (x.argument as { instance: { id: string } }).instance.id;
        byVm.set(id, [...(byVm.get(id) ?? []), x.labels['action'] ?? '?']);
      }
      expect(vms.every((v) => byVm.get(v.id)?.length === 1)).toBe(true);
      const actions = started.map((x) => x.labels['action']);
      const slots = await fs.db().collection(`${prefix}stop_slots`).where('scope', '==', 'fingerprint').get();
      const windows = new Set(slots.docs.map((d) => d.get('windowStart') as string));
      const stops = actions.filter((a) => a === 'stop').length;
      expect(stops).toBe(windows.size === 1 ? 3 : slots.size);
      expect(stops).toBeLessThanOrEqual(3 * windows.size);
      expect(actions.filter((a) => a === 'hold')).toHaveLength(200 - stops);
      // The slots name exactly the stopped VMs' events.
      const stopped = new Set(
        started.filter((x) => x.labels['action'] === 'stop').map((x) => (x.argument as { eventKey: string }).eventKey),
      );
      expect(new Set(slots.docs.map((d) => d.get('holder') as string))).toEqual(stopped);
      // The ledger agrees with what was started: each held VM's event is recorded as a hold, with the limit.
      const events = await fs.db().getAll(
        ...started.map((x) =>
          fs
            .db()
            .collection(`${prefix}events`)
            .doc((x.argument as { eventKey: string }).eventKey),
        ),
      );
      const recorded = events.map((d) => d.get('decision') as { action: string; heldBy?: { scope: string; limit: number } });
      expect(recorded.filter((d) => d.action === 'hold' && d.heldBy?.scope === 'fingerprint' && d.heldBy.limit === 3)).toHaveLength(
        200 - stops,
      );
    } finally {
      await guarded.stop();
    }
  }, 120_000);
});

describe('onIntegrityEvent against forged entries (issue 14)', () => {
  const codeOf = async (messageId: string): Promise<string | undefined> =>
    (
      (
        await collection('rejected_inputs')
          .doc(`msg-${messageDocId(messageId)}`)
          .get()
      ).data() as { rejection: { code: string } } | undefined
    )?.rejection.code;

  it("a known-good report naming another project's log, or logged in 2099, is rejected: nothing is relearned", async () => {
    const v = vm();
    const otherLog = edited(late(v), (e) => (e.logName = 'projects/attacker-proj/logs/compute.googleapis.com%2Fshielded_vm_integrity'));
    const future = bootReportEntry('lateBootReportEvent', {
      instance: v,
      bootCounter: 7,
      actual: KERNEL_26,
      policy: KERNEL_25,
      timestamp: '2099-01-01T00:00:00.000000001Z',
    });
    const started = await startedDuring(async () => {
      expect((await postBinary(server.url, eventarcBody(otherLog, 'msg-x1'))).status).toBeLessThan(300);
      expect((await postBinary(server.url, eventarcBody(future, 'msg-x2'))).status).toBeLessThan(300);
    });
    expect(started).toEqual([]);
    expect([await codeOf('msg-x1'), await codeOf('msg-x2')]).toEqual(['project_mismatch', 'timestamp_in_future']);
  });

  it('a forged startupEvent at boot 2^64-1 does not silence the VM: its next failed report is still stopped', async () => {
    const v = vm();
    const forged = simpleEventEntry('startupEvent', { instance: v, bootCounter: '18446744073709551615' });
    const genuine = late(v, TAMPERED, 8);
    const started = await startedDuring(async () => {
      expect((await postBinary(server.url, eventarcBody(forged, 'msg-x3'))).status).toBeLessThan(300);
      expect((await postBinary(server.url, eventarcBody(genuine, 'msg-x4'))).status).toBeLessThan(300);
    });
    expect(started.map((x) => x.labels['action'])).toEqual(['stop']);
  });
});

describe('onIntegrityEvent against a poison body (issue 14)', () => {
  it('200,000 nested arrays posted directly: 2xx, recorded as input_too_deep under the CloudEvent id, nothing started', async () => {
    const deep = `{"message":{"messageId":"msg-deep","data":"eA=="},"subscription":"s","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const started = await startedDuring(async () => {
      const res = await fetch(server.url, {
        method: 'POST',
        body: deep,
        headers: {
          'content-type': 'application/json',
          'ce-id': 'msg-deep',
          'ce-specversion': '1.0',
          'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
          'ce-source': '//pubsub.googleapis.com/projects/demo-bootwarden/topics/shielded-vm-integrity',
        },
      });
      await res.arrayBuffer();
      expect(res.status).toBeLessThan(300);
    });
    expect(started).toEqual([]);
    const record = (
      await collection('rejected_inputs')
        .doc(`msg-${messageDocId('msg-deep')}`)
        .get()
    ).data() as { rejection: { code: string }; raw: string } | undefined;
    expect(record).toMatchObject({ rejection: { code: 'input_too_deep' }, raw: '(a JSON body nested deeper than 32 levels: not kept)' });
  });
});
