/**
 * Test helpers for code that runs workflows in the emulator: a Compute fleet that records every
 * call and can be told to fail, and the clock that skips a workflow's waits.
 */
export { SkipWaitsClock } from './run/clocks.js';
export {
  computeTimestamp,
  RecordingComputeFleet,
  type GuestOs,
  type CallOutcome,
  type ComputeFleetMethod,
  type FleetEffects,
  type NewInstance,
  type RecordedCall,
} from './testing/recording-fleet.js';
