/** Argument parsing: pure, throws BootwardenError('usage') with a one-line message. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BootwardenError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(command: string, args: string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values, positionals };
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new BootwardenError('usage', `${command}: ${message} (see \`bootwarden ${command} --help\`)`);
  }
}

export function stringOption(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** `--baselines` or BOOTWARDEN_BASELINES. */
export function baselinesLocation(command: string, p: Parsed, fromEnvironment: string | null): string {
  const loc = stringOption(p, 'baselines') ?? fromEnvironment;
  if (loc === null || loc === '') {
    throw new BootwardenError('usage', `${command}: --baselines <dir|file> is required (or set BOOTWARDEN_BASELINES)`);
  }
  return loc;
}
