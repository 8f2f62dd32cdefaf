/** What a command may touch: injected so that commands run inside tests without a process. */
import type { Readable } from 'node:stream';
import type { CliConfig } from '../core/config.js';

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface Io {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly stdin: Readable;
  readonly env: Readonly<Record<string, string | undefined>>;
  now(): Date;
}

/** What a command gets: the streams and the validated configuration, never the raw environment. */
export interface CommandIo extends Omit<Io, 'env'> {
  readonly config: CliConfig;
}

export const EXIT = {
  ok: 0,
  failure: 1,
  rejected: 2,
  usage: 64,
  internal: 70,
} as const;
