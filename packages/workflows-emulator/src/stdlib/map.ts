/**
 * The `map` module (https://cloud.google.com/workflows/docs/reference/stdlib/map/get, .../merge,
 * .../merge_nested, .../delete). Every function returns a new map; the arguments are not changed.
 */
import type { StdFunction } from '../run/runtime.js';
import { isMap, raise, typeName, type Value, type WfMap } from '../run/values.js';
import { map, present, str } from './check.js';

function mergeNested(first: WfMap, second: WfMap): WfMap {
  const out: WfMap = new Map(first);
  for (const [k, v] of second) {
    const mine = out.get(k);
    out.set(k, mine !== undefined && mine !== null && isMap(mine) && v !== null && isMap(v) ? mergeNested(mine, v) : v);
  }
  return out;
}

export const mapFunctions: readonly StdFunction[] = [
  {
    name: 'map.get',
    params: ['map', 'keys'],
    required: 2,
    call([m, keys]) {
      // The reference: anything that is not a map (null included) gives null, not an error.
      let current = present('map.get', 'map', m);
      const k = present('map.get', 'keys', keys);
      let path: string[];
      if (typeof k === 'string') path = [k];
      else if (Array.isArray(k) && k.every((x): x is string => typeof x === 'string')) path = k;
      else return raise('TypeError', `map.get: argument 'keys' must be a string or a list of strings, got ${typeName(k)}`);
      // The reference says nothing of an empty list of keys: refused rather than guessed.
      if (path.length === 0)
        return raise(
          'UndocumentedError',
          'map.get: an empty list of keys is undocumented (the local engine refuses it): give at least one key',
        );
      for (const key of path) {
        if (current === null || !isMap(current)) return null;
        current = current.get(key) ?? null;
      }
      return current;
    },
  },
  {
    name: 'map.merge',
    params: ['first', 'second'],
    required: 2,
    call([first, second]) {
      const out: WfMap = new Map(map('map.merge', 'first', first));
      for (const [k, v] of map('map.merge', 'second', second)) out.set(k, v);
      return out;
    },
  },
  {
    name: 'map.merge_nested',
    params: ['first', 'second'],
    required: 2,
    call: ([first, second]) => mergeNested(map('map.merge_nested', 'first', first), map('map.merge_nested', 'second', second)),
  },
  {
    name: 'map.delete',
    params: ['map', 'key'],
    required: 2,
    call([m, key]) {
      const out: WfMap = new Map<string, Value>(map('map.delete', 'map', m));
      out.delete(str('map.delete', 'key', key));
      return out;
    },
  },
];
