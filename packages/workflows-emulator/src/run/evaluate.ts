/**
 * Evaluation of expressions, with the types and errors of the Workflows syntax reference
 * (https://cloud.google.com/workflows/docs/reference/syntax/datatypes,
 * .../syntax/expressions, .../syntax/error-types).
 *
 * Where the reference is silent about arithmetic, the operators behave as their Python namesakes
 * (the operator set `//`, `%`, `in`, `not` is Python's): `/` always gives a double, `//` floors,
 * `%` takes the sign of the divisor, integer results that leave 64 bits raise ValueError.
 */
import type { BinaryOp, Expr } from '../load/expression-parser.js';
import { checkedInt, isMap, raise, scalarText, toDouble, typeName, valuesEqual, type Value } from './values.js';

export interface Environment {
  /** A variable's value; raises when it is not defined. */
  lookup(name: string): Value;
  /** Calls a standard library function or a subworkflow with positional arguments. */
  call(callee: string, args: Value[]): Value | Promise<Value>;
}

type Eval = Generator<Promise<Value>, Value, Value>;

/**
 * Evaluates an expression. Synchronous (a plain value) unless a called function returns a
 * promise (http.*, a subworkflow, ...): then the rest continues asynchronously. So an assignment
 * of plain expressions runs without yielding, and parallel branches cannot interleave inside it
 * (the documented parallel-for sum `total: ${total + v}` is exact).
 */
export function evaluate(e: Expr, env: Environment): Value | Promise<Value> {
  const g = ev(e, env);
  const first = g.next();
  if (first.done === true) return first.value;
  return (async () => {
    let step: IteratorResult<Promise<Value>, Value> = first;
    while (step.done !== true) {
      let v: Value;
      try {
        v = await step.value;
      } catch (err) {
        step = g.throw(err);
        continue;
      }
      step = g.next(v);
    }
    return step.value;
  })();
}

function* ev(e: Expr, env: Environment): Eval {
  switch (e.type) {
    case 'literal':
    case 'value':
      return e.value;
    case 'var':
      return env.lookup(e.name);
    case 'list': {
      const out: Value[] = [];
      for (const item of e.items) out.push(yield* ev(item, env));
      return out;
    }
    case 'map': {
      const out = new Map<string, Value>();
      for (const [k, v] of e.entries) {
        const key = yield* ev(k, env);
        if (typeof key !== 'string') raise('TypeError', `a map key must be a string, got ${typeName(key)}`);
        out.set(key, yield* ev(v, env));
      }
      return out;
    }
    case 'member':
      return member(yield* ev(e.object, env), e.property);
    case 'index': {
      const object = yield* ev(e.object, env);
      return index(object, yield* ev(e.index, env));
    }
    case 'call': {
      const args: Value[] = [];
      for (const a of e.args) args.push(yield* ev(a, env));
      const r = env.call(e.callee, args);
      return r instanceof Promise ? yield r : r;
    }
    case 'unary': {
      const v = yield* ev(e.operand, env);
      if (e.op === 'not') {
        if (typeof v !== 'boolean') raise('TypeError', `'not' needs a boolean, got ${typeName(v)}`);
        return !v;
      }
      if (typeof v === 'bigint') return checkedInt(-v);
      if (typeof v === 'number') return -v;
      return raise('TypeError', `unary '-' needs a number, got ${typeName(v)}`);
    }
    case 'binary': {
      const left = yield* ev(e.left, env);
      if (e.op === 'and' || e.op === 'or') {
        // Both operands are evaluated: the reference does not say that `and`/`or` short-circuit,
        // so a workflow that relies on it (a guard before a field read) fails here too.
        const right = yield* ev(e.right, env);
        if (typeof left !== 'boolean') raise('TypeError', `'${e.op}' needs booleans, got ${typeName(left)} on the left`);
        if (typeof right !== 'boolean') raise('TypeError', `'${e.op}' needs booleans, got ${typeName(right)} on the right`);
        return e.op === 'and' ? left && right : left || right;
      }
      return binary(e.op, left, yield* ev(e.right, env));
    }
  }
}

export function member(object: Value, property: string): Value {
  if (object === null || !isMap(object)) {
    return raise('TypeError', `cannot read '.${property}' of a ${typeName(object)}: only maps have keys`);
  }
  const v = object.get(property);
  if (v === undefined) raise('KeyError', `key not found: ${property}`);
  return v;
}

export function index(object: Value, key: Value): Value {
  if (Array.isArray(object)) {
    if (typeof key !== 'bigint') raise('TypeError', `a list index must be an integer, got ${typeName(key)}`);
    if (key < 0n || key >= BigInt(object.length)) raise('IndexError', `list index ${key} out of range (length ${object.length})`);
    return object[Number(key)] as Value;
  }
  if (object !== null && isMap(object)) {
    if (typeof key !== 'string') raise('TypeError', `a map key must be a string, got ${typeName(key)}`);
    const v = object.get(key);
    if (v === undefined) raise('KeyError', `key not found: ${key}`);
    return v;
  }
  return raise('TypeError', `cannot index a ${typeName(object)}: only lists and maps can be indexed`);
}

function bothNumbers(op: string, a: Value, b: Value): [bigint | number, bigint | number] {
  const numeric = (v: Value): v is bigint | number => typeof v === 'bigint' || typeof v === 'number';
  if (!numeric(a) || !numeric(b)) raise('TypeError', `'${op}' is not defined for ${typeName(a)} and ${typeName(b)}`);
  return [a, b];
}

function zeroCheck(op: string, divisor: bigint | number): void {
  if (divisor === 0n || divisor === 0) raise('ZeroDivisionError', `'${op}' by zero`);
}

export function binary(op: BinaryOp, a: Value, b: Value): Value {
  switch (op) {
    case '==':
      return valuesEqual(a, b);
    case '!=':
      return !valuesEqual(a, b);
    case 'in':
      if (Array.isArray(b)) return b.some((x) => valuesEqual(x, a));
      if (b !== null && isMap(b)) {
        if (typeof a !== 'string') raise('TypeError', `'in' a map needs a string key, got ${typeName(a)}`);
        return b.has(a);
      }
      return raise('TypeError', `'in' needs a list or a map on the right, got ${typeName(b)}`);
    case '<':
    case '<=':
    case '>':
    case '>=': {
      let c: number;
      if (typeof a === 'string' && typeof b === 'string') c = a < b ? -1 : a > b ? 1 : 0;
      else {
        const [x, y] = bothNumbers(op, a, b);
        const [p, q] = typeof x === typeof y ? [x, y] : [toDouble(x), toDouble(y)];
        c = p < q ? -1 : p > q ? 1 : 0;
      }
      return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
    }
    case '+':
      // The + table of the data types page: STRING with INTEGER, DOUBLE, BOOL or STRING, either
      // side, gives a STRING; BOOL with a number or a BOOL is an ERROR. Other types: an error too.
      if (typeof a === 'string' || typeof b === 'string') {
        const left = scalarText(a);
        const right = scalarText(b);
        if (left === null || right === null) raise('TypeError', `'+' cannot add ${typeName(a)} and ${typeName(b)}`);
        return left + right;
      }
      return arithmetic(op, a, b);
    case '-':
    case '*':
      return arithmetic(op, a, b);
    case '/': {
      const [x, y] = bothNumbers(op, a, b);
      zeroCheck(op, y);
      return toDouble(x) / toDouble(y);
    }
    case '//': {
      const [x, y] = bothNumbers(op, a, b);
      zeroCheck(op, y);
      if (typeof x === 'bigint' && typeof y === 'bigint') {
        const q = x / y;
        return checkedInt(q * y !== x && x < 0n !== y < 0n ? q - 1n : q);
      }
      return Math.floor(toDouble(x) / toDouble(y));
    }
    case '%': {
      const [x, y] = bothNumbers(op, a, b);
      zeroCheck(op, y);
      if (typeof x === 'bigint' && typeof y === 'bigint') {
        const r = x % y;
        return r !== 0n && r < 0n !== y < 0n ? r + y : r;
      }
      const p = toDouble(x);
      const q = toDouble(y);
      const r = p % q;
      return r !== 0 && r < 0 !== q < 0 ? r + q : r;
    }
    default:
      return raise('TypeError', `operator '${op}' is not supported here`);
  }
}

function arithmetic(op: '+' | '-' | '*', a: Value, b: Value): Value {
  const [x, y] = bothNumbers(op, a, b);
  if (typeof x === 'bigint' && typeof y === 'bigint') return checkedInt(op === '+' ? x + y : op === '-' ? x - y : x * y);
  const p = toDouble(x);
  const q = toDouble(y);
  return op === '+' ? p + q : op === '-' ? p - q : p * q;
}
