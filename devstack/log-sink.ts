/**
 * The local log sink (issue 12): what Cloud Logging's sink, the Pub/Sub topic and the Eventarc
 * trigger do with a Shielded VM's log entries, on loopback.
 *
 * - The sink's filter keeps the `compute.googleapis.com/shielded_vm_integrity` entries of the
 *   sink's project; anything else is counted and dropped, as a sink drops what its filter excludes.
 * - Each kept entry is published as a Pub/Sub message (`data` = the LogEntry JSON in base64, a
 *   16-digit `messageId`, `publishTime`) and pushed to the function as Eventarc does: a binary-mode
 *   CloudEvent `google.cloud.pubsub.topic.v1.messagePublished` whose `ce-id` is the message id and
 *   whose source is the topic.
 * - At least once: a delivery answered with anything but 2xx (or not answered) is retried with
 *   exponential backoff, as Pub/Sub push retries; after `maxAttempts` the message is dead-lettered
 *   (kept in `deadLetters`, never silently lost).
 * - To exercise deduplication, optionally: `duplicateRate` delivers a message again after its
 *   first push (Pub/Sub's at-least-once redelivery of a message whose acknowledgement was lost,
 *   same message id), `republishRate` publishes an entry twice (a sink can, with two message ids,
 *   pushed concurrently), and `maxDelayMs` delays each delivery by a random time, which reorders
 *   them. The randomness comes from `seed`, so a run can be repeated.
 */
import type { JsonObject } from '../core/json.js';
import { INTEGRITY_LOG_ID } from '../core/event.js';
import { eventarcBody } from './entries.js';
import { postEventarc } from './eventarc.js';
import { Rng } from './random.js';

export interface LogSinkOptions {
  /** The function's URL (functions-framework on loopback). */
  readonly functionUrl: string;
  /** The sink's project: only its integrity entries pass the filter. */
  readonly project: string;
  /** Topic id in the sink's project. */
  readonly topic?: string;
  readonly duplicateRate?: number;
  readonly republishRate?: number;
  readonly maxDelayMs?: number;
  readonly seed?: number;
  /** Pub/Sub push backoff, scaled down for a local run: from `minBackoffMs`, doubling, at most `maxBackoffMs`. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxAttempts?: number;
  /** publishTime comes from this clock (the simulated cloud's). */
  readonly now?: () => number;
}

export interface DeliveryRecord {
  readonly messageId: string;
  readonly insertId: string;
  readonly attempt: number;
  /** The HTTP status, or null when the request got no answer. */
  readonly status: number | null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class LocalLogSink {
  readonly topic: string;
  readonly subscription: string;
  /** Every delivery attempt, in the order answered. */
  readonly deliveries: DeliveryRecord[] = [];
  /** Messages given up after maxAttempts. */
  readonly deadLetters: { messageId: string; entry: JsonObject; lastStatus: number | null }[] = [];
  /** Entries the filter excluded. */
  excluded = 0;
  private readonly rng: Rng;
  private readonly inFlight = new Set<Promise<void>>();
  private nextMessageId = 9_200_000_000_000_000n;
  private closed = false;

  constructor(private readonly options: LogSinkOptions) {
    this.topic = `projects/${options.project}/topics/${options.topic ?? 'shielded-vm-integrity'}`;
    this.subscription = `projects/${options.project}/subscriptions/eventarc-integrity-sub`;
    this.rng = new Rng(options.seed ?? 1);
    for (const [name, rate] of [
      ['duplicateRate', options.duplicateRate],
      ['republishRate', options.republishRate],
    ] as const) {
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new Error(`log sink: ${name} must be between 0 and 1, got ${rate}`);
    }
  }

  /** The sink's filter: this project's Shielded VM integrity log. */
  matches(entry: JsonObject): boolean {
    return entry['logName'] === `projects/${this.options.project}/logs/${INTEGRITY_LOG_ID}`;
  }

  /** An entry written to Cloud Logging: routed, published and pushed (asynchronously). */
  write(entry: JsonObject): void {
    if (this.closed) return;
    if (!this.matches(entry)) {
      this.excluded++;
      return;
    }
    this.publish(entry);
    if (this.rng.next() < (this.options.republishRate ?? 0)) this.publish(entry);
  }

  /** Resolves once every message published so far is acknowledged or dead-lettered. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Stops taking entries; waits for what is in flight. */
  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
  }

  private publish(entry: JsonObject): void {
    const messageId = String(this.nextMessageId++);
    const first = this.track(this.push(messageId, entry));
    // Pub/Sub redelivers a message whose acknowledgement it did not get: after the first push.
    if (this.rng.next() < (this.options.duplicateRate ?? 0)) void this.track(first.then(() => this.push(messageId, entry)));
  }

  private track(push: Promise<void>): Promise<void> {
    const tracked = push.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return tracked;
  }

  private async push(messageId: string, entry: JsonObject): Promise<void> {
    const maxDelay = this.options.maxDelayMs ?? 0;
    if (maxDelay > 0) await sleep(Math.floor(this.rng.next() * maxDelay));
    const body = eventarcBody(entry, messageId, this.subscription);
    const message = body['message'] as JsonObject;
    if (this.options.now !== undefined) message['publishTime'] = new Date(this.options.now()).toISOString();
    const insertId = typeof entry['insertId'] === 'string' ? entry['insertId'] : '';
    const maxAttempts = this.options.maxAttempts ?? 20;
    let backoff = this.options.minBackoffMs ?? 10;
    let status: number | null = null;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        const res = await postEventarc(this.options.functionUrl, body, { id: messageId, source: `//pubsub.googleapis.com/${this.topic}` });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = null;
      }
      this.deliveries.push({ messageId, insertId, attempt, status });
      if (status !== null && status >= 200 && status < 300) return;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 1000);
    }
    this.deadLetters.push({ messageId, entry, lastStatus: status });
  }
}
