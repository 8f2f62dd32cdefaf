/**
 * Posting to a CloudEvent function the way Eventarc does, for the local stack, tests and
 * benchmarks: binary content mode (ce-* headers and the messagePublished body as JSON) or
 * structured mode (one application/cloudevents+json document).
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { isJsonObject, type JsonObject } from '../core/json.js';
import { FUNCTION_TARGET } from '../functions/entry.js';
import { eventarcBody } from './entries.js';

export { MESSAGE_PUBLISHED } from '../core/ingest.js';
import { MESSAGE_PUBLISHED } from '../core/ingest.js';

export interface DeliveryOptions {
  readonly id?: string;
  readonly mode?: 'binary' | 'structured';
  readonly source?: string;
  /** The CloudEvent type (default messagePublished, what Eventarc sends for a Pub/Sub message). */
  readonly type?: string;
  /** W3C traceparent, sent as the CloudEvent extension `traceparent`. */
  readonly traceparent?: string;
}

export function postEventarc(url: string, body: unknown, opts: DeliveryOptions = {}): Promise<Response> {
  const id = opts.id ?? randomUUID();
  const source = opts.source ?? '//pubsub.googleapis.com/projects/demo-bootwarden/topics/shielded-vm-integrity';
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (opts.mode === 'structured') {
    const event: Record<string, unknown> = {
      specversion: '1.0',
      id,
      type: opts.type ?? MESSAGE_PUBLISHED,
      source,
      datacontenttype: 'application/json',
    };
    if (opts.traceparent !== undefined) event['traceparent'] = opts.traceparent;
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: `${JSON.stringify(event).slice(0, -1)},"data":${text}}`,
    });
  }
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'ce-id': id,
    'ce-specversion': '1.0',
    'ce-type': opts.type ?? MESSAGE_PUBLISHED,
    'ce-source': source,
  };
  if (opts.traceparent !== undefined) headers['ce-traceparent'] = opts.traceparent;
  return fetch(url, { method: 'POST', headers, body: text });
}

/**
 * The messagePublished body Eventarc posts for a file that holds a LogEntry (wrapped in a Pub/Sub
 * message as the log sink publishes it, with `messageId`), a Pub/Sub message, or an Eventarc body.
 */
export function deliveryBody(doc: JsonObject, messageId: string): JsonObject {
  if (isJsonObject(doc['message'])) return doc;
  if (typeof doc['data'] === 'string') return { message: doc, subscription: 'projects/demo-bootwarden/subscriptions/local' };
  return eventarcBody(doc, messageId);
}

/**
 * functions-framework's entry point (its `functions-framework` bin), the program Cloud Run
 * functions runs. The package exports only `.` and `./testing`, so it is found beside the main module.
 */
export function frameworkMain(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('@google-cloud/functions-framework')), 'main.js');
}

/** The arguments that serve bootwarden's function as Cloud Run does. */
export function functionServerArgs(source: string, port: number | string, target = FUNCTION_TARGET): string[] {
  return [frameworkMain(), `--target=${target}`, '--signature-type=cloudevent', `--source=${source}`, `--port=${port}`];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
