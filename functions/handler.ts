/**
 * The CloudEvent handler: turns a delivery into an `ingest` call and its result into ack or
 * redelivery. Returning = 2xx = acknowledged; throwing = non-2xx = redelivered by Eventarc.
 */
import { BootwardenError, isBootwardenError } from '../core/errors.js';
import { ingest, type IngestResult } from '../core/ingest.js';
import type { JsonValue } from '../core/json.js';
import type { Logger } from '../core/ports/logger.port.js';
import type { Wiring } from './wiring.js';

/** The parts of a CloudEvent the handler reads (functions-framework's CloudEvent has them all). */
export interface IncomingCloudEvent {
  readonly id?: string;
  readonly specversion?: string;
  readonly type?: string;
  readonly source?: string;
  readonly data?: unknown;
  readonly traceparent?: unknown;
}

/** The structured-mode CloudEvent the core parses, whatever mode the event arrived in. */
function asEnvelope(ce: IncomingCloudEvent): JsonValue | string {
  let data: unknown = ce.data;
  if (Buffer.isBuffer(data)) data = data.toString('utf8');
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data) as unknown;
    } catch {
      return data as string; // parse() rejects it with the JSON error
    }
  }
  return {
    specversion: ce.specversion ?? '1.0',
    id: ce.id ?? '',
    type: ce.type ?? '',
    source: ce.source ?? '',
    data: (data ?? null) as JsonValue,
  };
}

/** Rejects with a retryable error when `work` takes longer than `ms` (the work itself is not cancelled). */
async function within<T>(ms: number, eventId: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BootwardenError(
            'store_unavailable',
            `event ${eventId} not handled within ${ms / 1000} s (Firestore or Workflows unreachable?)`,
            {
              retryable: true,
            },
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function createHandler(
  getWiring: () => Wiring,
  loggerFor: (traceparent: string | undefined) => Logger,
): (ce: IncomingCloudEvent) => Promise<IngestResult> {
  let warned = false;
  return async (ce) => {
    const logger = loggerFor(typeof ce.traceparent === 'string' ? ce.traceparent : undefined);
    try {
      const { deps, settings, deadlineMs } = getWiring();
      if (!warned) {
        warned = true;
        // Said once per instance, at its first event (the configuration is read then).
        if (settings.sourceTopic === null)
          logger.warn(
            "BOOTWARDEN_SOURCE_TOPIC is not set: messagePublished events of any Pub/Sub topic are acted on; set it to the log sink's topic (projects/P/topics/T)",
            { code: 'source_topic_unset' },
          );
      }
      return await within(
        deadlineMs,
        ce.id ?? '?',
        ingest(asEnvelope(ce), { ...deps, logger }, settings, { type: ce.type ?? '', source: ce.source ?? '' }),
      );
    } catch (e) {
      if (isBootwardenError(e)) {
        const what = e.retryable ? 'will be redelivered' : 'will be redelivered once the configuration is fixed';
        logger.error(`event ${ce.id ?? '?'} not processed (${what}): ${e.message}`, {
          code: e.code,
          retryable: e.retryable,
          cloudEventId: ce.id,
        });
      } else {
        const err = e instanceof Error ? e : new Error(String(e));
        logger.error(`event ${ce.id ?? '?'} not processed (internal error, will be redelivered): ${err.message}`, {
          code: 'internal',
          stack_trace: err.stack,
          cloudEventId: ce.id,
        });
      }
      throw e;
    }
  };
}
