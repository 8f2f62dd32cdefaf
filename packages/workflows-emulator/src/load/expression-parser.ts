/**
 * Parser of Cloud Workflows expressions (the text inside `${...}`), to an AST (evaluate.ts runs it).
 *
 * Precedence, from the most binding (Workflows syntax reference, "Data types", Order of operations):
 *   ()  .  []  |  not  |  unary -  |  * / // %  |  + -  |  < <= >= > == != in  |  and  |  or
 * Logical operators and `in` may be lower- or upper-case, not mixed; `true`/`True`/`TRUE` likewise.
 */

import type { Value } from '../run/values.js';

export type Expr =
  | { readonly type: 'literal'; readonly value: string | number | bigint | boolean | null }
  | { readonly type: 'var'; readonly name: string }
  | { readonly type: 'list'; readonly items: readonly Expr[] }
  /** A constant list or map of a YAML value (made by the loader, never by the parser). */
  | { readonly type: 'value'; readonly value: Value }
  | { readonly type: 'map'; readonly entries: readonly (readonly [Expr, Expr])[] }
  | { readonly type: 'member'; readonly object: Expr; readonly property: string }
  | { readonly type: 'index'; readonly object: Expr; readonly index: Expr }
  | { readonly type: 'call'; readonly callee: string; readonly args: readonly Expr[] }
  | { readonly type: 'unary'; readonly op: 'not' | '-'; readonly operand: Expr }
  | { readonly type: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr };

export type BinaryOp = '*' | '/' | '//' | '%' | '+' | '-' | '<' | '<=' | '>' | '>=' | '==' | '!=' | 'in' | 'and' | 'or';

export class ExpressionSyntaxError extends Error {
  constructor(
    message: string,
    readonly source: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset} of \${${source}}`);
    this.name = 'ExpressionSyntaxError';
  }
}

type Token =
  | { kind: 'number'; value: number | bigint; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'name'; value: string; at: number }
  | { kind: 'op'; value: string; at: number }
  | { kind: 'end'; at: number };

const KEYWORDS = new Map<string, string>();
for (const w of ['and', 'or', 'not', 'in', 'true', 'false', 'null']) {
  KEYWORDS.set(w, w);
  KEYWORDS.set(w.toUpperCase(), w);
  KEYWORDS.set(w[0]?.toUpperCase() + w.slice(1), w === 'true' || w === 'false' || w === 'null' ? w : '');
}

const OPERATORS = ['//', '<=', '>=', '==', '!=', '(', ')', '[', ']', '{', '}', ':', '.', ',', '+', '-', '*', '/', '%', '<', '>'];

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i)) as RegExpExecArray;
      const text = m[0];
      // Integers are bigints (64-bit in Workflows); a fraction or exponent makes a double.
      const integer = m[1] === undefined && m[2] === undefined;
      tokens.push({ kind: 'number', value: integer ? BigInt(text) : Number(text), at });
      i += text.length;
      continue;
    }
    if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ExpressionSyntaxError('unterminated string', src, at);
        const d = src[i] as string;
        if (d === c) break;
        if (d === '\\') {
          const e = src[i + 1];
          const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };
          if (e === undefined || escapes[e] === undefined) throw new ExpressionSyntaxError(`unknown escape \\${e ?? ''}`, src, i);
          value += escapes[e];
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      i++;
      tokens.push({ kind: 'string', value, at });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'name', value: m[0], at });
      i += m[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw new ExpressionSyntaxError(`unexpected character ${JSON.stringify(c)}`, src, at);
    tokens.push({ kind: 'op', value: op, at });
    i += op.length;
  }
  tokens.push({ kind: 'end', at: src.length });
  return tokens;
}

/** Binding power of binary operators (higher binds tighter). */
const BINARY: Record<string, number> = {
  or: 1,
  and: 2,
  '<': 3,
  '<=': 3,
  '>': 3,
  '>=': 3,
  '==': 3,
  '!=': 3,
  in: 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '//': 5,
  '%': 5,
};
const UNARY_MINUS = 6;
const NOT = 7;

export function parseExpression(src: string): Expr {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token => tokens[pos] as Token;
  const next = (): Token => tokens[pos++] as Token;
  const keyword = (t: Token): string | undefined => (t.kind === 'name' ? KEYWORDS.get(t.value) || undefined : undefined);
  const expectOp = (value: string): void => {
    const t = next();
    if (t.kind !== 'op' || t.value !== value) throw new ExpressionSyntaxError(`expected '${value}'`, src, t.at);
  };
  const binaryOf = (t: Token): BinaryOp | undefined => {
    const v = t.kind === 'op' ? t.value : keyword(t);
    return v !== undefined && BINARY[v] !== undefined ? (v as BinaryOp) : undefined;
  };

  function primary(): Expr {
    const t = next();
    if (t.kind === 'number') return { type: 'literal', value: t.value };
    if (t.kind === 'string') return { type: 'literal', value: t.value };
    if (t.kind === 'op' && t.value === '(') {
      const e = expression(0);
      expectOp(')');
      return e;
    }
    if (t.kind === 'op' && t.value === '-') return { type: 'unary', op: '-', operand: expression(UNARY_MINUS) };
    // List and map literals: `${[start, end]}` in a for range, `${{"key": value}}`.
    if (t.kind === 'op' && t.value === '[') {
      const items = sequence(']', () => expression(0));
      return { type: 'list', items };
    }
    if (t.kind === 'op' && t.value === '{') {
      const entries = sequence('}', () => {
        const key = expression(0);
        expectOp(':');
        return [key, expression(0)] as const;
      });
      return { type: 'map', entries };
    }
    if (t.kind === 'name') {
      const k = keyword(t);
      if (k === 'true' || k === 'false') return { type: 'literal', value: k === 'true' };
      if (k === 'null') return { type: 'literal', value: null };
      if (k === 'not') return { type: 'unary', op: 'not', operand: expression(NOT) };
      if (k !== undefined || KEYWORDS.has(t.value)) {
        throw new ExpressionSyntaxError(`unexpected ${JSON.stringify(t.value)}`, src, t.at);
      }
      // A call's callee is a dotted name: sys.get_env(...), map.get(...), http.post(...).
      let path = t.value;
      const save = pos;
      while (peek().kind === 'op' && (peek() as { value: string }).value === '.' && tokens[pos + 1]?.kind === 'name') {
        path += `.${(tokens[pos + 1] as { value: string }).value}`;
        pos += 2;
      }
      if (peek().kind === 'op' && (peek() as { value: string }).value === '(') {
        next();
        const args: Expr[] = [];
        if (!(peek().kind === 'op' && (peek() as { value: string }).value === ')')) {
          for (;;) {
            args.push(expression(0));
            if (peek().kind === 'op' && (peek() as { value: string }).value === ',') next();
            else break;
          }
        }
        expectOp(')');
        return { type: 'call', callee: path, args };
      }
      pos = save;
      return { type: 'var', name: t.value };
    }
    throw new ExpressionSyntaxError(t.kind === 'end' ? 'unexpected end of expression' : `unexpected '${t.value}'`, src, t.at);
  }

  /** Comma-separated items up to `close` (already past the opening bracket). */
  function sequence<T>(close: string, item: () => T): T[] {
    const out: T[] = [];
    if (peek().kind === 'op' && (peek() as { value: string }).value === close) {
      next();
      return out;
    }
    for (;;) {
      out.push(item());
      const t = next();
      if (t.kind === 'op' && t.value === close) return out;
      if (!(t.kind === 'op' && t.value === ',')) throw new ExpressionSyntaxError(`expected ',' or '${close}'`, src, t.at);
    }
  }

  function postfix(e: Expr): Expr {
    for (;;) {
      const t = peek();
      if (t.kind === 'op' && t.value === '.') {
        next();
        const name = next();
        if (name.kind !== 'name') throw new ExpressionSyntaxError('expected a property name after "."', src, name.at);
        e = { type: 'member', object: e, property: name.value };
      } else if (t.kind === 'op' && t.value === '[') {
        next();
        const index = expression(0);
        expectOp(']');
        e = { type: 'index', object: e, index };
      } else {
        return e;
      }
    }
  }

  function expression(minPower: number): Expr {
    let left = postfix(primary());
    for (;;) {
      const op = binaryOf(peek());
      const power = op === undefined ? undefined : BINARY[op];
      if (op === undefined || power === undefined || power <= minPower) return left;
      next();
      const right = expression(power);
      left = { type: 'binary', op, left, right };
    }
  }

  const result = expression(0);
  const rest = peek();
  if (rest.kind !== 'end')
    throw new ExpressionSyntaxError(
      `unexpected ${rest.kind === 'op' || rest.kind === 'name' ? `'${rest.value}'` : rest.kind} after the expression`,
      src,
      rest.at,
    );
  return result;
}
