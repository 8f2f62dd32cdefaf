/**
 * The ingest use case behind the Eventarc function: parse, deduplicate, check the boot counter
 * (a stale or jumped counter never relearns, never hides a stop), decide (checking a passing report against the VM's last relearn, core/relearn-check.ts), join
 * an execution that already waits for a decision on the VM, hold a stop beyond the blast-radius
 * guard's limits (core/blast-radius.ts), start the response workflow, record the outcome. Side
 * effects come only through the ports it is given.
 *
 * Ack or redeliver: bad input is permanent (recorded, logged, returned as `rejected`, so the
 * caller acknowledges it); an unavailable dependency throws a retryable BootwardenError, so the
 * caller fails the delivery and Eventarc redelivers it. A redelivery after a partial failure
 * never starts a second execution: the event is claimed with a create-once document, and a
 * successor taking over an abandoned claim first looks for the execution its predecessor may
 * have started (executions carry the event key as a label).
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { eventKeyLabel, eventKeyOf, executionLabels, messageDocId, responseArgument, type ResponseCollections } from './contracts.js';
import { decideWithStore, type Decision, type DecisionPolicy } from './decide.js';
import { BootwardenError, rejection, type Rejection } from './errors.js';
import { compareBootCounters, isBootReport, type IntegrityEvent } from './event.js';
import { isJsonObject, MAX_JSON_DEPTH, valueDepthExceeds, type JsonValue } from './json.js';
import { futureProblem, parseEnvelope, parseEnvelopeText, rejectedContextOf, type RejectedContext } from './parse.js';
import type { BaselineStore } from './ports/baseline-store.port.js';
import type {
  AwaitingDecision,
  CounterAnomaly,
  EventLedger,
  EventRecord,
  InstanceStateStore,
  RejectedInputStore,
} from './ports/event-ledger.port.js';
import type { ExecutionStarter } from './ports/execution-starter.port.js';
import type { Logger } from './ports/logger.port.js';
import type { StopSlotStore } from './ports/stop-slots.port.js';
import { guardDecision, type BlastRadiusLimits } from './blast-radius.js';
import { checkRelearn, needsRelearnCheck } from './relearn-check.js';

/** How much of a rejected payload is kept. */
export const MAX_RECORDED_RAW_BYTES = 16 * 1024;

export interface IngestDeps {
  readonly baselines: BaselineStore;
  readonly ledger: EventLedger;
  readonly instances: InstanceStateStore;
  readonly rejected: RejectedInputStore;
  readonly starter: ExecutionStarter;
  /** The blast-radius guard's slots. */
  readonly stopSlots: StopSlotStore;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

/** The CloudEvent type Eventarc gives a Pub/Sub message: the only one the function acts on. */
export const MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

/** What the CloudEvent says about itself (the function's `ce-type` and `ce-source`). */
export interface CloudEventAttributes {
  readonly type: string;
  readonly source: string;
}

export interface IngestSettings extends DecisionPolicy {
  /** Projects whose VMs bootwarden may act on; null = any. */
  readonly allowedProjects: readonly string[] | null;
  /** The log sink's topic, `projects/P/topics/T`: only its messages are acted on; null = any topic. */
  readonly sourceTopic: string | null;
  /** A claim older than this is considered abandoned (its owner crashed) and may be taken over. */
  readonly claimLeaseMs: number;
  /** How long a duplicate delivery waits for the owner of the event to finish before asking for redelivery. */
  readonly waitForOwnerMs: number;
  readonly pollMs: number;
  /** Collection names, for the documents the workflow reads and writes. */
  readonly collections: ResponseCollections;
  /** How many VMs may be stopped per fingerprint, project and in all, per window; beyond: hold. */
  readonly blastRadius: BlastRadiusLimits;
  /** A boot report this many boots beyond the last one recorded for its VM is rejected, never recorded. */
  readonly maxBootCounterJump: number;
}

/**
 * The `alert` field of the ERROR line logged for a boot counter that went backwards or jumped:
 * this entry or an earlier one of the VM may be forged (docs/security.md, the alert policy).
 */
export const FORGED_ENTRY_ALERT = 'possible_forged_entry';

export type IngestResult =
  | { readonly status: 'rejected'; readonly rejection: Rejection; readonly context: RejectedContext; readonly recordId: string }
  | { readonly status: 'duplicate'; readonly eventKey: string; readonly executionName: string | null }
  | { readonly status: 'stale'; readonly eventKey: string; readonly bootCounter: string; readonly latestBoot: string }
  /** The VM's execution `executionName` was waiting for a decision: the event is in its audit trail. */
  | { readonly status: 'joined'; readonly eventKey: string; readonly decision: Decision; readonly executionName: string }
  | { readonly status: 'decided'; readonly eventKey: string; readonly decision: Decision; readonly executionName: string | null };

function rawText(input: JsonValue | string, r: Rejection): string {
  if (typeof input === 'string') return input;
  // Serializing it again would overflow the stack: what it was is in the rejection.
  if (r.code === 'input_too_deep') return `(a JSON body nested deeper than ${MAX_JSON_DEPTH} levels: not kept)`;
  return JSON.stringify(input);
}

async function recordRejection(
  deps: IngestDeps,
  input: JsonValue | string,
  r: Rejection,
  context: RejectedContext,
): Promise<Extract<IngestResult, { status: 'rejected' }>> {
  const raw = rawText(input, r);
  const rawBytes = Buffer.byteLength(raw, 'utf8');
  const kept = rawBytes > MAX_RECORDED_RAW_BYTES ? Buffer.from(raw, 'utf8').subarray(0, MAX_RECORDED_RAW_BYTES).toString('utf8') : raw;
  // One record per message: a redelivered bad message lands on the same document.
  const recordId =
    context.messageId !== null ? `msg-${messageDocId(context.messageId)}` : `raw-${createHash('sha256').update(raw).digest('hex')}`;
  const record = {
    rejection: r,
    context,
    raw: kept,
    rawBytes,
    truncated: kept.length !== raw.length,
    receivedAt: deps.now().toISOString(),
  };
  try {
    await deps.rejected.record(recordId, record);
  } catch (e) {
    // A record the store refuses as such (too large, invalid) is refused on every redelivery:
    // a smaller one, without the raw input, is recorded instead, and the message acknowledged.
    if (!(e instanceof BootwardenError) || e.retryable || e.code !== 'invalid_input') throw e;
    deps.logger.error(
      `the rejected input ${recordId} was refused by the store (${e.message.slice(0, 300)}): recorded without its raw input`,
      {
        code: 'rejected_record_refused',
        recordId,
      },
    );
    await deps.rejected.record(recordId, {
      ...record,
      rejection: rejection(r.code, r.message.slice(0, 300), r.field?.slice(0, 100) ?? null),
      raw: `(not kept: the store refused the record: ${e.message.slice(0, 200)})`,
      truncated: true,
    });
  }
  deps.logger.error(`rejected input: ${r.code}: ${r.message}`, {
    code: r.code,
    field: r.field,
    recordId,
    messageId: context.messageId,
    insertId: context.insertId,
    instanceId: context.instanceId,
  });
  return { status: 'rejected', rejection: r, context, recordId };
}

type Claim = { owner: true; attempt: number; firstClaimedAt: string } | { owner: false; existing: EventRecord };

async function claim(event: IntegrityEvent, eventKey: string, deps: IngestDeps, settings: IngestSettings): Promise<Claim> {
  const claimedAt = deps.now().toISOString();
  const messageId = event.delivery?.messageId ?? null;
  const won = await deps.ledger.claimEvent({
    eventKey,
    entry: event.entry,
    instance: event.instance,
    bootCounter: event.bootCounter,
    eventKind: event.kind,
    messageIds: messageId === null ? [] : [messageId],
    claimedAt,
  });
  if (won) return { owner: true, attempt: 1, firstClaimedAt: claimedAt };
  const deadline = deps.now().getTime() + settings.waitForOwnerMs;
  for (;;) {
    const existing = await deps.ledger.getEvent(eventKey);
    if (existing === null) {
      throw new BootwardenError('store_unavailable', `event ${eventKey} was claimed but its record cannot be read`, { retryable: true });
    }
    if (existing.state === 'done') return { owner: false, existing };
    const now = deps.now();
    if (Date.parse(existing.claimedAt) + settings.claimLeaseMs <= now.getTime()) {
      const attempt = existing.attempt + 1;
      if (await deps.ledger.takeOver(eventKey, attempt, now.toISOString())) {
        deps.logger.warn(`took over abandoned event ${eventKey} (attempt ${attempt})`, {
          eventKey,
          attempt,
          previousClaim: existing.claimedAt,
        });
        return { owner: true, attempt, firstClaimedAt: existing.firstClaimedAt };
      }
    }
    if (now.getTime() >= deadline) {
      throw new BootwardenError('event_in_progress', `event ${eventKey} is being processed by another delivery; asking for redelivery`, {
        retryable: true,
      });
    }
    await deps.sleep(settings.pollMs);
  }
}

function isStale(event: IntegrityEvent, latestBoot: string): boolean {
  return event.bootCounter !== null && isBootReport(event) && compareBootCounters(event.bootCounter, latestBoot) < 0;
}

/** Why this CloudEvent is not the log sink's messagePublished event, or null when it is. */
function sourceProblem(ce: CloudEventAttributes, settings: IngestSettings): Rejection | null {
  if (ce.type !== MESSAGE_PUBLISHED)
    return rejection(
      'unexpected_event_type',
      `the CloudEvent type is ${JSON.stringify(ce.type.slice(0, 200))}, not ${MESSAGE_PUBLISHED}`,
      'ce-type',
    );
  const expected = settings.sourceTopic === null ? null : `//pubsub.googleapis.com/${settings.sourceTopic}`;
  if (expected !== null && ce.source !== expected)
    return rejection(
      'unexpected_source',
      `the CloudEvent source is ${JSON.stringify(ce.source.slice(0, 200))}, not the log sink's topic ${expected} (BOOTWARDEN_SOURCE_TOPIC)`,
      'ce-source',
    );
  return null;
}

/**
 * What the entry claims that the platform does not vouch for: a time in the future (entries are
 * logged before they are delivered).
 */
function untrustedProblem(event: IntegrityEvent, deps: IngestDeps): Rejection | null {
  return futureProblem(event.entry.timestamp, deps.now());
}

/**
 * The boot report's counter against the VM's recorded boots. A jump of more than
 * `maxBootCounterJump` is not recorded (one forged counter near 2^64 would make every genuine
 * report after it stale); a counter below the latest recorded boot is stale. Either may be a
 * forged entry (this one or an earlier one): it never leads to a relearn, and never hides a stop.
 */
async function checkCounter(
  event: IntegrityEvent,
  eventKey: string,
  deps: IngestDeps,
  settings: IngestSettings,
): Promise<CounterAnomaly | null> {
  if (event.bootCounter === null || !isBootReport(event)) return null;
  const at = deps.now().toISOString();
  const latest = await deps.instances.latestBoot(event.instance);
  if (latest !== null && BigInt(event.bootCounter) - BigInt(latest) > BigInt(settings.maxBootCounterJump))
    return { kind: 'jump', bootCounter: event.bootCounter, latestBoot: latest, eventKey, at };
  // Only boot reports record boots: a forged startupEvent must not make genuine reports stale.
  const latestBoot = await deps.instances.recordBoot(event.instance, event.bootCounter, at);
  return isStale(event, latestBoot) ? { kind: 'backwards', bootCounter: event.bootCounter, latestBoot, eventKey, at } : null;
}

/** A counter anomaly: on the VM's state, and one ERROR line an alert policy matches on `alert`. */
async function reportAnomaly(
  event: IntegrityEvent,
  anomaly: CounterAnomaly,
  decision: Decision,
  deps: IngestDeps,
  settings: IngestSettings,
) {
  await deps.instances.recordCounterAnomaly(event.instance, anomaly);
  const what =
    anomaly.kind === 'jump'
      ? `bootCounter ${anomaly.bootCounter} is more than ${settings.maxBootCounterJump} boots after the latest recorded (${anomaly.latestBoot}, BOOTWARDEN_MAX_BOOT_COUNTER_JUMP)`
      : `bootCounter ${anomaly.bootCounter} is below the latest recorded boot ${anomaly.latestBoot}`;
  const acted = decision.intendedAction === 'stop' ? `acted on all the same (${decision.action})` : 'not acted on (never relearned)';
  deps.logger.error(`possible forged entry for instance ${event.instance.id}: ${what}; the ${event.kind} is ${acted}`, {
    alert: FORGED_ENTRY_ALERT,
    counterAnomaly: { ...anomaly },
    eventKey: anomaly.eventKey,
    instanceId: event.instance.id,
    project: event.instance.project,
    action: decision.action,
    reasonCode: decision.reasonCode,
  });
}

/**
 * The decision, and for a passing late-boot report the check of the VM's last relearn
 * (core/relearn-check.ts): a report with other measurements than were relearned, unknown ones,
 * is a stop (relearn_mismatch).
 */
async function decideAfterRelearns(event: IntegrityEvent, eventKey: string, deps: IngestDeps, settings: IngestSettings): Promise<Decision> {
  const decided = await decideWithStore(event, deps.baselines, settings);
  if (!needsRelearnCheck(event)) return decided;
  const record = await deps.instances.relearnRecord(event.instance);
  if (record === null) return decided;
  const facts = { eventKey, instanceId: event.instance.id, project: event.instance.project, bootCounter: event.bootCounter };
  if (typeof record === 'string') {
    deps.logger.error(`cannot check the last relearn of instance ${event.instance.id}: ${record}`, facts);
    return decided;
  }
  const check = await checkRelearn(event, record, deps.baselines, settings);
  if (check === null) return decided;
  const relearn = {
    fingerprint: record.fingerprint,
    bootCounter: record.bootCounter,
    eventKey: record.eventKey,
    execution: record.execution,
  };
  if (check.verdict === 'verified') {
    const verified = `relearn verified: instance ${event.instance.id} booted with the measurements relearned at boot ${record.bootCounter}`;
    deps.logger.info(verified, { ...facts, relearn });
    return decided;
  }
  if (check.verdict === 'other_known_good')
    deps.logger.warn(`instance ${event.instance.id}: ${check.decision.reason}`, { ...facts, relearn });
  else
    deps.logger.error(`relearn mismatch on instance ${event.instance.id}: ${check.decision.reason}`, {
      ...facts,
      relearn,
      code: 'relearn_mismatch',
    });
  return check.decision;
}

/**
 * The VM's execution `waiting` waits for an operator's decision: this event, which would start
 * another, is recorded into that one's audit trail instead (the decision that comes covers the
 * VM; an approval of a stopped VM restarts it, and its next boot is decided afresh).
 */
async function joinWaiting(
  event: IntegrityEvent,
  eventKey: string,
  decision: Decision,
  waiting: AwaitingDecision,
  deps: IngestDeps,
): Promise<IngestResult> {
  const at = deps.now().toISOString();
  const { action, reasonCode, reason, fingerprint } = decision;
  await deps.ledger.recordJoined(waiting.eventKey, {
    eventKey,
    bootCounter: event.bootCounter,
    eventKind: event.kind,
    action,
    reasonCode,
    fingerprint,
    at,
  });
  await deps.ledger.completeEvent(eventKey, {
    outcome: 'joined',
    decision: ledgerDecision(decision),
    executionName: waiting.execution,
    completedAt: at,
  });
  await deps.instances.recordDecision(event.instance, {
    eventKey,
    bootCounter: event.bootCounter,
    action: 'joined',
    reasonCode,
    executionName: waiting.execution,
    at,
  });
  deps.logger.warn(
    `${event.kind} of instance ${event.instance.id} (${action}: ${reason}) joins execution ${waiting.execution}, which waits for a decision on the VM until ${waiting.until}: recorded in its audit trail, no second execution`,
    { eventKey, instanceId: event.instance.id, project: event.instance.project, action, reasonCode, fingerprint, joined: { ...waiting } },
  );
  return { status: 'joined', eventKey, decision, executionName: waiting.execution };
}

/** What the ledger keeps of a decision (its diff is in the workflow's argument). */
function ledgerDecision(d: Decision): NonNullable<EventRecord['decision']> {
  const { action, intendedAction, reasonCode, reason, fingerprint, baselineId, dryRun, heldBy } = d;
  return { action, intendedAction, reasonCode, reason, fingerprint, baselineId, dryRun, ...(heldBy === undefined ? {} : { heldBy }) };
}

/** The response to `event` cannot be started, and never will be: completed as rejected, and recorded. */
async function unstartable(
  input: JsonValue | string,
  event: IntegrityEvent,
  eventKey: string,
  decision: Decision,
  e: BootwardenError,
  deps: IngestDeps,
): Promise<IngestResult> {
  await deps.ledger.completeEvent(eventKey, {
    outcome: 'rejected',
    decision: ledgerDecision(decision),
    executionName: null,
    completedAt: deps.now().toISOString(),
  });
  const r = rejection(
    'response_not_startable',
    `the ${decision.action} response of event ${eventKey} cannot be started (${e.message.slice(0, 500)}): the event is completed as rejected, not redelivered`,
  );
  return recordRejection(deps, input, r, contextOf(event));
}

/** A stop within the blast-radius guard's limits stays a stop; beyond them it becomes a hold. */
async function guarded(
  decision: Decision,
  event: IntegrityEvent,
  eventKey: string,
  deps: IngestDeps,
  settings: IngestSettings,
): Promise<Decision> {
  const d = await guardDecision(deps.stopSlots, settings.blastRadius, decision, { eventKey, instance: event.instance, now: deps.now() });
  if (d.heldBy !== undefined)
    deps.logger.warn(`blast-radius guard: instance ${event.instance.id} is held, not stopped (${d.heldBy.scope} limit ${d.heldBy.limit})`, {
      eventKey,
      instanceId: event.instance.id,
      project: event.instance.project,
      fingerprint: d.fingerprint,
      heldBy: { ...d.heldBy },
    });
  return d;
}

function contextOf(event: IntegrityEvent): RejectedContext {
  return {
    messageId: event.delivery?.messageId ?? null,
    logName: event.entry.logName,
    insertId: event.entry.insertId,
    timestamp: event.entry.timestamp,
    instanceId: event.instance.id,
  };
}

/** A report with an implausible counter that needs no stop: completed as stale or rejected, never relearned. */
async function droppedForCounter(
  input: JsonValue | string,
  event: IntegrityEvent,
  anomaly: CounterAnomaly,
  deps: IngestDeps,
  settings: IngestSettings,
): Promise<IngestResult> {
  const { eventKey, bootCounter, latestBoot } = anomaly;
  const completedAt = deps.now().toISOString();
  if (anomaly.kind === 'jump') {
    await deps.ledger.completeEvent(eventKey, {
      outcome: 'rejected',
      decision: null,
      executionName: null,
      completedAt,
      counterAnomaly: anomaly,
    });
    const r = rejection(
      'implausible_boot_counter',
      `bootCounter ${bootCounter} is more than ${settings.maxBootCounterJump} boots after the last one recorded for instance ${event.instance.id} (${latestBoot}): not recorded (BOOTWARDEN_MAX_BOOT_COUNTER_JUMP)`,
      'jsonPayload.bootCounter',
    );
    return recordRejection(deps, input, r, contextOf(event));
  }
  await deps.ledger.completeEvent(eventKey, {
    outcome: 'stale',
    decision: null,
    executionName: null,
    completedAt,
    counterAnomaly: anomaly,
  });
  deps.logger.info(`stale report dropped: instance ${event.instance.id} has booted again (boot ${latestBoot} > ${bootCounter})`, {
    eventKey,
    instanceId: event.instance.id,
    bootCounter,
    latestBoot,
  });
  return { status: 'stale', eventKey, bootCounter, latestBoot };
}

/**
 * `cloudEvent`: what the delivery's CloudEvent says about itself (the function always gives it):
 * only the log sink's messagePublished events are acted on.
 */
export async function ingest(
  input: JsonValue | string,
  deps: IngestDeps,
  settings: IngestSettings,
  cloudEvent?: CloudEventAttributes,
): Promise<IngestResult> {
  // A body the framework parsed gets the same depth bound as a text (its depth is not yet known).
  if (typeof input !== 'string' && valueDepthExceeds(input, MAX_JSON_DEPTH))
    return recordRejection(
      deps,
      input,
      rejection('input_too_deep', `the body nests deeper than ${MAX_JSON_DEPTH} levels`),
      // The CloudEvent's id (Eventarc gives the Pub/Sub message id), so each delivery has its record.
      rejectedContextOf(isJsonObject(input) && typeof input['id'] === 'string' && input['id'] !== '' ? input['id'] : null),
    );
  const parsed = typeof input === 'string' ? parseEnvelopeText(input) : parseEnvelope(input);
  const wrongSource = cloudEvent === undefined ? null : sourceProblem(cloudEvent, settings);
  if (wrongSource !== null) return recordRejection(deps, input, wrongSource, parsed.ok ? contextOf(parsed.event) : parsed.context);
  if (!parsed.ok) return recordRejection(deps, input, parsed.rejection, parsed.context);
  const event = parsed.event;
  if (settings.allowedProjects !== null && !settings.allowedProjects.includes(event.instance.project)) {
    const context = contextOf(event);
    const r = rejection(
      'project_not_allowed',
      `project ${event.instance.project} is not in BOOTWARDEN_ALLOWED_PROJECTS (${settings.allowedProjects.join(', ')})`,
      'resource.labels.project_id',
    );
    return recordRejection(deps, input, r, context);
  }

  const untrusted = untrustedProblem(event, deps);
  if (untrusted !== null) return recordRejection(deps, input, untrusted, contextOf(event));

  const eventKey = eventKeyOf(event.entry);
  const messageId = event.delivery?.messageId ?? null;
  if (messageId !== null) await deps.ledger.recordDelivery(messageId, eventKey, deps.now().toISOString());

  const c = await claim(event, eventKey, deps, settings);
  if (!c.owner) {
    deps.logger.info(`duplicate delivery of event ${eventKey} ignored`, { eventKey, messageId, executionName: c.existing.executionName });
    return { status: 'duplicate', eventKey, executionName: c.existing.executionName };
  }

  const anomaly = await checkCounter(event, eventKey, deps, settings);
  const decided = await decideAfterRelearns(event, eventKey, deps, settings);
  if (anomaly !== null) {
    await reportAnomaly(event, anomaly, decided, deps, settings);
    // A stop is acted on whatever the counters say; nothing else is (never bless a boot that may not be the latest).
    if (decided.intendedAction !== 'stop') return droppedForCounter(input, event, anomaly, deps, settings);
  }
  // One execution per VM waits for operators: later events join its audit trail (no stop slot taken).
  const waiting = decided.action === 'ignore' ? null : await deps.instances.awaitingDecision(event.instance, deps.now());
  if (waiting !== null && waiting.eventKey !== eventKey) return joinWaiting(event, eventKey, decided, waiting, deps);
  const decision = await guarded(decided, event, eventKey, deps, settings);
  let executionName: string | null = null;
  if (decision.action !== 'ignore') {
    const now = deps.now().toISOString();
    const argument = responseArgument(event, decision, { eventKey, decidedAt: now, collections: settings.collections });
    // A successor of a crashed owner may find the execution its predecessor started.
    const existing = c.attempt > 1 ? await deps.starter.findByEventKey(eventKeyLabel(eventKey), c.firstClaimedAt) : null;
    try {
      executionName = (existing ?? (await deps.starter.start(argument, executionLabels(argument)))).name;
    } catch (e) {
      // An argument Workflows will never take (over 32 KB, refused as invalid) is not fixed by a
      // redelivery: the event is completed as rejected, recorded and acknowledged.
      if (!(e instanceof BootwardenError) || e.code !== 'invalid_input') throw e;
      return unstartable(input, event, eventKey, decision, e, deps);
    }
  }
  const completedAt = deps.now().toISOString();
  const { action, reasonCode, reason, fingerprint, baselineId } = decision;
  await deps.ledger.completeEvent(eventKey, {
    outcome: decision.action === 'ignore' ? 'ignored' : 'decided',
    decision: ledgerDecision(decision),
    executionName,
    completedAt,
    ...(anomaly === null ? {} : { counterAnomaly: anomaly }),
  });
  // The VM's last decision is on a boot report: a shutdown or startup event after a stop must not
  // hide that bootwarden stopped it (`bootwarden instances`).
  if (isBootReport(event)) {
    await deps.instances.recordDecision(event.instance, {
      eventKey,
      bootCounter: event.bootCounter,
      action,
      reasonCode,
      executionName,
      at: completedAt,
    });
  }
  deps.logger.info(`${event.kind} of instance ${event.instance.id}: ${action} (${reason})`, {
    eventKey,
    messageId,
    instanceId: event.instance.id,
    project: event.instance.project,
    zone: event.instance.zone,
    bootCounter: event.bootCounter,
    action,
    reasonCode,
    fingerprint,
    baselineId,
    executionName,
  });
  return { status: 'decided', eventKey, decision, executionName };
}
