/**
 * The `uuid` module (https://cloud.google.com/workflows/docs/reference/stdlib/uuid/generate): a
 * random 128-bit UUID in string form (version 4, lower-case hex, as in the reference's example).
 */
import { randomUUID } from 'node:crypto';
import type { StdFunction } from '../run/runtime.js';

export const uuidFunctions: readonly StdFunction[] = [
  {
    name: 'uuid.generate',
    params: [],
    required: 0,
    call: () => randomUUID(),
  },
];
