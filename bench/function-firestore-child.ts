/**
 * Child process of the function benchmark: the first Firestore call of a fresh node process (load
 * the SDK, create the client, one document read against FIRESTORE_EMULATOR_HOST). Prints `done`
 * on stdout when the read has returned; the parent times from spawn to that line.
 * Usage: node dist/bench/function-firestore-child.js <projectId>
 */
import { Firestore } from '@google-cloud/firestore';

const projectId = process.argv[2] ?? 'demo-bootwarden';
await new Firestore({ projectId }).collection('x').doc('y').get();
process.stdout.write('done\n');
// The client's gRPC channel would keep the process alive.
process.exit(0);
