/**
 * `npm run slack-app`: the real Slack app (slack-app/main.ts) on $PORT (default 3000), configured
 * by the documented environment variables only. When FIRESTORE_EMULATOR_HOST is unset it starts a
 * Firestore emulator first, as `npm run function` does, and stops it on exit.
 */
import { serveSlackApp } from '../slack-app/main.js';
import { startFirestoreEmulator } from './firestore-emulator.js';

const say = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const env: Record<string, string | undefined> = { ...process.env };
  if (env['FIRESTORE_EMULATOR_HOST'] === undefined || env['FIRESTORE_EMULATOR_HOST'] === '') {
    const projectId = env['GOOGLE_CLOUD_PROJECT'] ?? 'demo-bootwarden';
    const emulator = await startFirestoreEmulator({ projectId });
    say(`Firestore: ${emulator.kind} emulator at ${emulator.host} (FIRESTORE_EMULATOR_HOST was unset)`);
    process.env['FIRESTORE_EMULATOR_HOST'] = emulator.host;
    process.env['METADATA_SERVER_DETECTION'] = 'none';
    env['FIRESTORE_EMULATOR_HOST'] = emulator.host;
    try {
      return await serveSlackApp(env, say);
    } finally {
      await emulator.stop();
    }
  }
  return serveSlackApp(env, say);
}

process.exitCode = await main();
