/**
 * `npm run function`: the Eventarc function on $PORT (default 8080) exactly as Cloud Run runs it
 * (functions-framework, signature type cloudevent), against the Firestore emulator (started here
 * when FIRESTORE_EMULATOR_HOST is unset) and, unless told otherwise, a local ExecutionStarter that
 * records the executions it was asked to start in a JSON Lines file.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../functions/config.js';
import { functionServerArgs } from './eventarc.js';
import { startFirestoreEmulator, type FirestoreEmulator } from './firestore-emulator.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function say(line: string): void {
  process.stderr.write(`bootwarden function: ${line}\n`);
}

async function main(): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  env['GOOGLE_CLOUD_PROJECT'] ??= 'demo-bootwarden';
  env['BOOTWARDEN_EXECUTIONS'] ??= 'local';
  env['BOOTWARDEN_LOCAL_EXECUTIONS_LOG'] ??= path.join(root, '.bootwarden', 'executions.jsonl');
  env['METADATA_SERVER_DETECTION'] ??= 'none';
  const port = env['PORT'] ?? '8080';
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      say(`configuration error: ${e.message}`);
      return 1;
    }
    throw e;
  }
  let emulator: FirestoreEmulator | null = null;
  if (env['FIRESTORE_EMULATOR_HOST'] === undefined || env['FIRESTORE_EMULATOR_HOST'] === '') {
    emulator = await startFirestoreEmulator({ projectId: env['GOOGLE_CLOUD_PROJECT'] });
    env['FIRESTORE_EMULATOR_HOST'] = emulator.host;
    say(`started the ${emulator.kind} Firestore emulator at ${emulator.host}`);
  }
  const child = spawn(process.execPath, functionServerArgs(path.join(root, 'dist', 'functions', 'index.js'), port), {
    env,
    stdio: 'inherit',
  });
  say(
    `executions are ${env['BOOTWARDEN_EXECUTIONS'] === 'local' ? `recorded in ${env['BOOTWARDEN_LOCAL_EXECUTIONS_LOG'] ?? ''}` : 'started in Cloud Workflows'}`,
  );
  say(`post an event: npm run -s post-event -- examples/entries/unknown-measurements.pubsub.json   (PORT=${port})`);
  say(
    `add a baseline there: FIRESTORE_EMULATOR_HOST=${env['FIRESTORE_EMULATOR_HOST']} GOOGLE_CLOUD_PROJECT=${env['GOOGLE_CLOUD_PROJECT']} npx bootwarden baselines add --store firestore --from-entry <entry.json>`,
  );
  const stop = (): void => {
    child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 0 : 1))));
  await emulator?.stop();
  return code;
}

process.exitCode = await main();
