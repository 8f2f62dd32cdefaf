import type { DecisionPolicy } from '../../core/decide.js';
import type { CliBaselineStore } from '../stores.js';
import { flag, type Parsed } from '../args.js';
import type { CommandIo } from '../io.js';

export const POLICY_OPTIONS = {
  'dry-run': { type: 'boolean' },
  'stop-on-early-boot': { type: 'boolean' },
} as const;

export function policyFrom(p: Parsed): DecisionPolicy {
  return { dryRun: flag(p, 'dry-run'), stopOnEarlyBootFailure: flag(p, 'stop-on-early-boot') };
}

/** Documents whose id is not their fingerprint are found by their PCR values, at an extra read: say so before deciding. */
export async function warnUnkeyedBaselines(store: CliBaselineStore, io: CommandIo): Promise<void> {
  const ids = await store.idsNotKeyedByFingerprint();
  if (ids.length === 0) return;
  const shown = ids.slice(0, 5).join(', ') + (ids.length > 5 ? `, … (${ids.length} in all)` : '');
  io.stderr.write(
    `bootwarden: warning: ${ids.length} baseline document(s) in ${store.location} are not keyed by fingerprint (${shown}): they still match, found by their PCR values at one extra read per decision; \`bootwarden baselines import --baselines ${store.location}\` re-keys them\n`,
  );
}
