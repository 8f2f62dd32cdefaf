/**
 * ExecutionStarter for the local stack and tests: starts nothing, records each execution as one
 * JSON line `{"name","startedAt","labels","argument"}` appended to a file (JSON Lines). The file is
 * the record: in memory there is only the index of event label → execution name, read from the
 * file on first use, so a restarted process still finds the executions an earlier one started.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeArgument, type ResponseArgument } from '../../core/contracts.js';
import { BootwardenError } from '../../core/errors.js';
import type { ExecutionStarter, StartedExecution } from '../../core/ports/execution-starter.port.js';

export interface RecordedExecution {
  readonly name: string;
  readonly startedAt: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly argument: ResponseArgument;
}

export const DEFAULT_LOCAL_WORKFLOW = 'integrity-response';

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
}

function ioError(what: string, file: string, e: unknown): BootwardenError {
  const reason = e instanceof Error ? e.message : String(e);
  return new BootwardenError('io_error', `cannot ${what} ${file}: ${reason}`, { cause: e });
}

/** The `event` label of a recorded line, or null when the line is not a record (a torn last line after a crash). */
function eventLabelOf(line: string): { event: string; name: string } | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { name, labels } = value as { name?: unknown; labels?: unknown };
  if (typeof name !== 'string' || typeof labels !== 'object' || labels === null) return null;
  const event = (labels as Record<string, unknown>)['event'];
  return typeof event === 'string' ? { event, name } : null;
}

export class RecordingExecutionStarter implements ExecutionStarter {
  readonly logFile: string;
  readonly workflow: string;
  /** event label → name of the newest execution, from the file and this instance. */
  private index: Promise<Map<string, string>> | null = null;

  constructor(opts: { logFile: string; workflow?: string }) {
    this.logFile = opts.logFile;
    this.workflow = opts.workflow ?? DEFAULT_LOCAL_WORKFLOW;
  }

  private load(): Promise<Map<string, string>> {
    this.index ??= (async () => {
      const byEvent = new Map<string, string>();
      let text: string;
      try {
        text = await fs.readFile(this.logFile, 'utf8');
      } catch (e) {
        if (errno(e) === 'ENOENT') return byEvent;
        this.index = null;
        throw ioError('read executions log', this.logFile, e);
      }
      for (const line of text.split('\n')) {
        const rec = line.trim() === '' ? null : eventLabelOf(line);
        if (rec !== null) byEvent.set(rec.event, rec.name);
      }
      return byEvent;
    })();
    return this.index;
  }

  async start(argument: ResponseArgument, labels: Readonly<Record<string, string>>): Promise<StartedExecution> {
    encodeArgument(argument); // the same 32 KB limit as Cloud Workflows
    const byEvent = await this.load();
    const record: RecordedExecution = {
      name: `projects/local/locations/local/workflows/${this.workflow}/executions/${randomUUID()}`,
      startedAt: new Date().toISOString(),
      labels: { ...labels },
      argument,
    };
    try {
      await fs.mkdir(path.dirname(this.logFile), { recursive: true });
      await fs.appendFile(this.logFile, `${JSON.stringify(record)}\n`, 'utf8');
    } catch (e) {
      throw ioError('append to executions log', this.logFile, e);
    }
    const event = labels['event'];
    if (event !== undefined) byEvent.set(event, record.name);
    return { name: record.name };
  }

  async findByEventKey(eventKeyLabel: string): Promise<StartedExecution | null> {
    const name = (await this.load()).get(eventKeyLabel);
    return name === undefined ? null : { name };
  }
}
