/**
 * The algorithm of Google's tutorial "Automating responses to integrity validation failures"
 * (`relearn_if_known_good`), ported faithfully so that its cost can be measured on the same store:
 *
 *   latest = {m['pcrNum']: m for m in lateBootReportEvent['actualMeasurements']}
 *   for kg in db.collection('known_good_measurements').stream():
 *       kg = kg.to_dict()
 *       if kg['PCR_0'] == latest['PCR_0'] and kg['PCR_4'] == latest['PCR_4'] and kg['PCR_7'] == latest['PCR_7']:
 *           relearn; return
 *   stop
 *
 * Every event streams the collection from the start until a document matches, so an unknown
 * boot reads every document. Only PCR_0, PCR_4 and PCR_7 are compared (a Windows report whose
 * PCR_11 changed matches). Where Python would raise a KeyError (a PCR missing from the report),
 * this port counts the document as not matching.
 */
import type { IntegrityEvent } from '../core/event.js';
import type { Measurement } from '../core/measurements.js';
import type { BaselineStore } from '../core/ports/baseline-store.port.js';

const TUTORIAL_PCRS = ['PCR_0', 'PCR_4', 'PCR_7'] as const;

export interface TutorialDecision {
  readonly action: 'ignore' | 'relearn' | 'stop';
  /** The id of the first document that matched. */
  readonly baselineId: string | null;
  /** Documents streamed for this event. */
  readonly documentsStreamed: number;
}

function sameMeasurement(a: Measurement | undefined, b: Measurement | undefined): boolean {
  return a !== undefined && b !== undefined && a.pcrNum === b.pcrNum && a.hashAlgo === b.hashAlgo && a.value === b.value;
}

/** The tutorial's function: only failed late-boot reports reach `relearn_if_known_good`. */
export async function tutorialDecide(event: IntegrityEvent, store: BaselineStore): Promise<TutorialDecision> {
  if (event.kind !== 'lateBootReportEvent' || event.report.policyEvaluationPassed) {
    return { action: 'ignore', baselineId: null, documentsStreamed: 0 };
  }
  const latest = new Map(event.report.actualMeasurements.map((m) => [m.pcrNum, m]));
  let streamed = 0;
  for await (const doc of store.list()) {
    streamed++;
    // A document the tutorial's `to_dict()` would give without the PCR fields cannot match either.
    if ('invalid' in doc) continue;
    const kg = new Map(doc.baseline.measurements.map((m) => [m.pcrNum, m]));
    if (TUTORIAL_PCRS.every((pcr) => sameMeasurement(kg.get(pcr), latest.get(pcr)))) {
      return { action: 'relearn', baselineId: doc.id, documentsStreamed: streamed };
    }
  }
  return { action: 'stop', baselineId: null, documentsStreamed: streamed };
}
