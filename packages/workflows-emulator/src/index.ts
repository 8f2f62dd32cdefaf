/**
 * @bootwarden/workflows-emulator: a local Cloud Workflows engine that runs the YAML you deploy.
 * This file is the whole public API; nothing else in src/ is imported from outside the package.
 *
 *   const local = await startLocalEngine({ instances: fleet, firestore: () => db });
 *   local.engine.deploy('my-workflow', await loadLocalWorkflow('my.workflows.yaml'), { KEY: 'value' });
 *   const run = local.engine.startExecution('my-workflow', { argument: JSON.stringify(arg) });
 *   const done = await local.engine.wait(run.name);
 */
export {
  loadLocalWorkflow,
  loadLocalWorkflowText,
  localLoadOptions,
  standardLibrary,
  startLocalEngine,
  type LocalEngine,
  type LocalEngineOptions,
} from './emulator.js';
export {
  checkFieldMask,
  descriptorSchema,
  messageSchema,
  parseFieldMask,
  readSystemParameters,
  renderResponse,
  selectFields,
  SYSTEM_PARAMETERS,
  SystemParameterError,
  type FieldKind,
  type FieldMask,
  type MessageSchema,
  type ProtoJsonType,
  type SystemParameters,
} from './api/system-parameters.js';
export {
  EngineError,
  filterExecutions,
  MAX_ARGUMENT_BYTES,
  readExecutions,
  WorkflowEngine,
  type EngineOptions,
  type ExecutionFilter,
  type ExecutionRecord,
  type ExecutionState,
} from './executions.js';
export { loadWorkflow, loadWorkflowFile, MAX_EXPRESSION_LENGTH, WorkflowLoadError, type LoadOptions } from './load/loader.js';
export type { Program } from './load/program.js';
export { SkipWaitsClock } from './run/clocks.js';
export { LoopbackCallbackHub, readRequestBody } from './run/callbacks.js';
export { systemClock, type Clock, type LogRecord, type SleepKind } from './run/runtime.js';
export {
  bearerToken,
  checkAccess,
  CLOUD_PLATFORM_SCOPE,
  hasScope,
  LocalTokenSource,
  type LocalTokenClaims,
  type VerifyResult,
} from './run/tokens.js';
export { encodeJson, fromPlain, parseJson, toPlain, type Value } from './run/values.js';
export * from './connectors/compute-fleet.js';
export { HttpComputeFleet, type HttpComputeFleetOptions } from './connectors/compute-http.js';
