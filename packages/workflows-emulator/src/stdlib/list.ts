/**
 * The `list` module (https://cloud.google.com/workflows/docs/reference/stdlib/list/concat,
 * .../list/prepend). Both return a copy; the source list is not modified.
 */
import type { StdFunction } from '../run/runtime.js';
import { list, present } from './check.js';

export const listFunctions: readonly StdFunction[] = [
  {
    name: 'list.concat',
    params: ['objs', 'val'],
    required: 2,
    call: ([objs, val]) => [...list('list.concat', 'objs', objs), present('list.concat', 'val', val)],
  },
  {
    name: 'list.prepend',
    params: ['objs', 'val'],
    required: 2,
    call: ([objs, val]) => [present('list.prepend', 'val', val), ...list('list.prepend', 'objs', objs)],
  },
];
