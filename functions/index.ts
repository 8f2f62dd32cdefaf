/**
 * Entry point for Cloud Run functions (nodejs22, signature type cloudevent, target
 * onIntegrityEvent), triggered by Eventarc on the log sink's Pub/Sub topic.
 * Configuration is read and clients are created on the first event, not at import. A body larger
 * than any Pub/Sub push is refused (413) before functions-framework parses it (body-limit.ts).
 */
import { cloudEvent } from '@google-cloud/functions-framework';
import { jsonLogger } from '../adapters/gcp/json-logger.js';
import { installBodyLimit } from './body-limit.js';
import { createFunction, FUNCTION_TARGET } from './entry.js';

installBodyLimit((message) => jsonLogger({ component: 'function' }).warn(message, { code: 'body_too_large' }));
cloudEvent<unknown>(FUNCTION_TARGET, createFunction());
