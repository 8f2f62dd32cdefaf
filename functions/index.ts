/**
 * Entry point for Cloud Run functions (nodejs22, signature type cloudevent, target
 * onIntegrityEvent), triggered by Eventarc on the log sink's Pub/Sub topic.
 * Configuration is read and clients are created on the first event, not at import.
 */
import { cloudEvent } from '@google-cloud/functions-framework';
import { createFunction, FUNCTION_TARGET } from './entry.js';

cloudEvent<unknown>(FUNCTION_TARGET, createFunction());
