/**
 * The function as functions-framework serves it: a CloudEvent handler that reads its configuration
 * and builds its clients on the first event, not at import. `functions/index.ts` registers it for
 * Cloud Run functions; the local stack registers the same handler with its own ExecutionStarter.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { ExecutionStarter } from '../core/ports/execution-starter.port.js';
import type { FirestoreProvider } from '../adapters/gcp/firestore-client.js';
import { loadConfig, type FunctionConfig } from '../core/config.js';
import { createHandler } from './handler.js';
import { jsonLogger } from '../adapters/gcp/json-logger.js';
import { wire, type Wiring } from './wiring.js';

/** The function's entry point name (`--target` / `--entry-point`). */
export const FUNCTION_TARGET = 'onIntegrityEvent';

export interface FunctionOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Adapters to use instead of the ones the configuration names (the local stack's engine). */
  readonly overrides?: { readonly firestore?: FirestoreProvider; readonly starter?: ExecutionStarter; readonly now?: () => Date };
  /** Where log lines go (default: stdout, as Cloud Logging reads them). */
  readonly write?: (line: string) => void;
}

export function createFunction(options: FunctionOptions = {}): (ce: CloudEvent<unknown>) => Promise<void> {
  const env = options.env ?? process.env;
  let config: FunctionConfig | null = null;
  let wiring: Wiring | null = null;
  const handler = createHandler(
    () => {
      config ??= loadConfig(env);
      wiring ??= wire(config, options.overrides);
      return wiring;
    },
    (traceparent) =>
      jsonLogger({
        component: 'function',
        project: config?.project ?? env['GOOGLE_CLOUD_PROJECT'],
        traceparent,
        ...(options.write === undefined ? {} : { write: options.write }),
      }),
  );
  return async (ce) => {
    await handler(ce);
  };
}
