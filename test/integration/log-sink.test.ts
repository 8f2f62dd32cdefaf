/**
 * The local log sink (devstack/log-sink.ts) against a recording receiver at a port: what it pushes
 * (Eventarc's binary content mode), what its filter drops, how it retries, dead-letters, duplicates
 * and reorders.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.js';
import { bootReportEntry, linuxBoot, simpleEventEntry } from '../../devstack/entries.js';
import { LocalLogSink } from '../../devstack/log-sink.js';

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: JsonObject;
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** A receiver that records each request and answers with `answer(n)` (n: the request's number, from 1). */
async function receiver(answer: (n: number) => number = () => 204): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject });
      res.writeHead(answer(received.length)).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, received };
}

const VM = { project: 'demo-bootwarden', zone: 'us-central1-a', id: '7234918840192837465' };
const entry = (n: number, project = 'demo-bootwarden'): JsonObject =>
  bootReportEntry('lateBootReportEvent', {
    instance: { ...VM, project },
    bootCounter: n,
    actual: linuxBoot('k'),
    policy: linuxBoot('k'),
    insertId: `insert-${n}`,
    timestamp: `2026-11-01T10:00:0${n % 10}.123456789Z`,
  });
const logEntryOf = (r: Received): JsonObject =>
  JSON.parse(Buffer.from((r.body['message'] as { data: string }).data, 'base64').toString('utf8')) as JsonObject;

describe('the local log sink', () => {
  it("pushes each entry of the project's integrity log as Eventarc does, and drops the rest", async () => {
    const { url, received } = await receiver();
    const sink = new LocalLogSink({ functionUrl: url, project: 'demo-bootwarden', now: () => Date.parse('2026-11-01T10:00:05Z') });
    sink.write(entry(1));
    sink.write(entry(2, 'other-project'));
    sink.write({ ...simpleEventEntry('startupEvent', { instance: VM, bootCounter: 1 }), logName: 'projects/demo-bootwarden/logs/syslog' });
    await sink.settled();
    expect(sink.excluded).toBe(2);
    expect(received).toHaveLength(1);
    const [r] = received;
    expect(r?.headers).toMatchObject({
      'ce-id': '9200000000000000',
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': '//pubsub.googleapis.com/projects/demo-bootwarden/topics/shielded-vm-integrity',
      'content-type': 'application/json',
    });
    expect(r?.body).toMatchObject({
      subscription: 'projects/demo-bootwarden/subscriptions/eventarc-integrity-sub',
      message: { messageId: '9200000000000000', publishTime: '2026-11-01T10:00:05.000Z' },
    });
    expect(logEntryOf(r!)).toEqual(entry(1));
    expect(sink.deliveries).toEqual([{ messageId: '9200000000000000', insertId: 'insert-1', attempt: 1, status: 204 }]);
  });

  it('retries a delivery that failed, with backoff, until it is acknowledged', async () => {
    const { url, received } = await receiver((n) => (n <= 2 ? 500 : 204));
    const sink = new LocalLogSink({ functionUrl: url, project: 'demo-bootwarden', minBackoffMs: 1 });
    sink.write(entry(1));
    await sink.settled();
    expect(received.map((r) => r.headers['ce-id'])).toEqual(['9200000000000000', '9200000000000000', '9200000000000000']);
    expect(sink.deliveries.map((d) => [d.attempt, d.status])).toEqual([
      [1, 500],
      [2, 500],
      [3, 204],
    ]);
    expect(sink.deadLetters).toEqual([]);
  });

  it('keeps a message it gave up on as a dead letter, with the last answer', async () => {
    const { url } = await receiver(() => 503);
    const sink = new LocalLogSink({ functionUrl: url, project: 'demo-bootwarden', minBackoffMs: 1, maxAttempts: 3 });
    sink.write(entry(1));
    await sink.settled();
    expect(sink.deadLetters).toEqual([{ messageId: '9200000000000000', entry: entry(1), lastStatus: 503 }]);
  });

  it('duplicates: a redelivery of the same message after its first push; a republished entry under another id', async () => {
    const redelivered = await receiver();
    const again = new LocalLogSink({ functionUrl: redelivered.url, project: 'demo-bootwarden', duplicateRate: 1 });
    again.write(entry(1));
    await again.settled();
    expect(redelivered.received.map((r) => r.headers['ce-id'])).toEqual(['9200000000000000', '9200000000000000']);
    const republished = await receiver();
    const twice = new LocalLogSink({ functionUrl: republished.url, project: 'demo-bootwarden', republishRate: 1 });
    twice.write(entry(1));
    await twice.settled();
    expect(republished.received.map((r) => r.headers['ce-id']).sort()).toEqual(['9200000000000000', '9200000000000001']);
    expect(republished.received.map((r) => logEntryOf(r)['insertId'])).toEqual(['insert-1', 'insert-1']);
  });

  it('random delays reorder the deliveries; each entry still arrives', async () => {
    const order = async (seed: number): Promise<string[]> => {
      const { url, received } = await receiver();
      const sink = new LocalLogSink({ functionUrl: url, project: 'demo-bootwarden', maxDelayMs: 50, seed });
      for (let n = 1; n <= 8; n++) sink.write(entry(n));
      await sink.settled();
      return received.map((r) => logEntryOf(r)['insertId'] as string);
    };
    const first = await order(5);
    expect([...first].sort()).toEqual(Array.from({ length: 8 }, (_, i) => `insert-${i + 1}`));
    expect(first).not.toEqual([...first].sort());
  });

  it('refuses a rate that is not a probability', () => {
    expect(() => new LocalLogSink({ functionUrl: 'http://127.0.0.1:1/', project: 'p', duplicateRate: 2 })).toThrow(
      'log sink: duplicateRate must be between 0 and 1, got 2',
    );
  });
});
