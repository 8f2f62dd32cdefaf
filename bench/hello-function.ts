/**
 * The baseline of the cold-start benchmark: a bare functions-framework CloudEvent function that
 * does nothing. `function_first_event_ms` is compared with its first request.
 */
import { cloudEvent } from '@google-cloud/functions-framework';

cloudEvent('hello', () => {});
