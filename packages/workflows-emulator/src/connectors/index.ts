/**
 * The connector table of the local engine. Every connector the deployed workflow may call is in
 * the table whatever is running, so a YAML that uses one always loads; a call whose backend is
 * absent raises `ConnectionError` naming the connector and what to start.
 *
 * Why ConnectionError: locally a missing backend is a service that is not listening — what the
 * connector reference raises "in case of a network problem (such as DNS failure or refused
 * connection)" (https://cloud.google.com/workflows/docs/reference/googleapis/compute/v1/instances/get).
 * An HttpError would claim that an API answered, which nothing did; a custom tag would slip past
 * the workflow's `except` branches, which key on the documented tags. The backend is checked
 * before any request, so the connector's own retries do not spin on it.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { ComputeFleet } from './compute-fleet.js';
import type { ConnectorMethod, ConnectorTable } from '../run/runtime.js';
import { connectionError } from './common.js';
import { computeConnectors } from './compute.js';
import { firestoreConnectors } from './firestore.js';

export interface ConnectorDeps {
  /** The Compute fleet (simulated locally; a recording fake in tests). */
  readonly instances?: ComputeFleet;
  /** The Firestore client, made on first call (against the emulator); `useBigInt: true` keeps int64 exact. */
  readonly firestore?: () => Firestore | Promise<Firestore>;
}

export function connectorTable(deps: ConnectorDeps = {}): ConnectorTable {
  const { instances, firestore } = deps;
  const methods: ConnectorMethod[] = [
    ...computeConnectors((connector) => {
      if (instances === undefined) {
        throw connectionError(
          `${connector}: this local engine has no Compute backend: start it with the simulated fleet (connectorTable({instances}))`,
        );
      }
      return instances;
    }),
    ...firestoreConnectors(async (connector) => {
      if (firestore === undefined) {
        throw connectionError(
          `${connector}: this local engine has no Firestore: start the Firestore emulator and pass its client (connectorTable({firestore}))`,
        );
      }
      return firestore();
    }),
  ];
  const table = new Map<string, ConnectorMethod>();
  for (const m of methods) {
    if (table.has(m.name)) throw new Error(`connector ${m.name} is defined twice`);
    table.set(m.name, m);
  }
  return table;
}
