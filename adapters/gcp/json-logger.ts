/** Cloud Logging structured logs: one JSON object per line on stdout, with `severity`. */
import type { LogFields, Logger } from '../../core/ports/logger.port.js';

export interface JsonLoggerOptions {
  readonly component: string;
  readonly project?: string;
  /** W3C traceparent of the request, when there is one: correlates the lines in Cloud Logging. */
  readonly traceparent?: string | undefined;
  readonly write?: (line: string) => void;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

export function jsonLogger(opts: JsonLoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => void process.stdout.write(line));
  const trace = opts.traceparent === undefined ? null : TRACEPARENT.exec(opts.traceparent);
  const base: LogFields = { 'logging.googleapis.com/labels': { component: opts.component } };
  if (trace !== null && opts.project !== undefined) {
    base['logging.googleapis.com/trace'] = `projects/${opts.project}/traces/${trace[1] ?? ''}`;
    base['logging.googleapis.com/spanId'] = trace[2];
  }
  const log =
    (severity: string) =>
    (message: string, fields: LogFields = {}): void => {
      write(`${JSON.stringify({ severity, message, ...fields, ...base, time: new Date().toISOString() })}\n`);
    };
  return { debug: log('DEBUG'), info: log('INFO'), warn: log('WARNING'), error: log('ERROR') };
}
