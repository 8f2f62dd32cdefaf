/**
 * The standard library functions that need no network: everything but http.*, events.*,
 * googleapis.* and the retry policies. One list, so the interpreter builds its table with
 * `functionTable(pureFunctions, ...others)`.
 */
import type { StdFunction } from '../run/runtime.js';
import { base64Functions } from './base64.js';
import { expressionHelperFunctions } from './expression-helpers.js';
import { hashFunctions } from './hash.js';
import { jsonFunctions } from './json.js';
import { listFunctions } from './list.js';
import { mapFunctions } from './map.js';
import { mathFunctions } from './math.js';
import { sysFunctions } from './sys.js';
import { textFunctions } from './text.js';
import { timeFunctions } from './time.js';
import { uuidFunctions } from './uuid.js';

export const pureFunctions: readonly StdFunction[] = [
  ...expressionHelperFunctions,
  ...mapFunctions,
  ...listFunctions,
  ...textFunctions,
  ...jsonFunctions,
  ...base64Functions,
  ...hashFunctions,
  ...timeFunctions,
  ...uuidFunctions,
  ...mathFunctions,
  ...sysFunctions,
];
