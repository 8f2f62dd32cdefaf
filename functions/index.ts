/**
 * Entry point for Cloud Run functions (nodejs22, signature type cloudevent, target
 * onIntegrityEvent), triggered by Eventarc on the log sink's Pub/Sub topic.
 * Configuration is read and clients are created on the first event, not at import.
 */
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { loadConfig, type FunctionConfig } from './config.js';
import { createHandler } from './handler.js';
import { jsonLogger } from './logger.js';
import { wire, type Wiring } from './wiring.js';

let config: FunctionConfig | null = null;
let wiring: Wiring | null = null;

const handler = createHandler(
  () => {
    config ??= loadConfig(process.env);
    wiring ??= wire(config);
    return wiring;
  },
  (traceparent) => jsonLogger({ component: 'function', project: config?.project ?? process.env['GOOGLE_CLOUD_PROJECT'], traceparent }),
);

cloudEvent<unknown>('onIntegrityEvent', async (ce: CloudEvent<unknown>) => {
  await handler(ce);
});
