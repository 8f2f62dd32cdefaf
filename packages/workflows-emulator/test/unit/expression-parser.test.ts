/**
 * Expression parsing of the local Workflows engine. Precedence and keyword spelling follow the
 * Workflows syntax reference, "Data types" page (Logical operators; Order of operations).
 */
import { describe, expect, it } from 'vitest';
import { ExpressionSyntaxError, parseExpression, type Expr } from '../../src/load/expression-parser.js';

/** A compact, fully parenthesised rendering of the AST. */
function show(e: Expr): string {
  switch (e.type) {
    case 'literal':
      return typeof e.value === 'string' ? JSON.stringify(e.value) : String(e.value);
    case 'value':
      return '<value>';
    case 'var':
      return e.name;
    case 'list':
      return `[${e.items.map(show).join(', ')}]`;
    case 'map':
      return `{${e.entries.map(([k, v]) => `${show(k)}: ${show(v)}`).join(', ')}}`;
    case 'member':
      return `${show(e.object)}.${e.property}`;
    case 'index':
      return `${show(e.object)}[${show(e.index)}]`;
    case 'call':
      return `${e.callee}(${e.args.map(show).join(', ')})`;
    case 'unary':
      return `(${e.op} ${show(e.operand)})`;
    case 'binary':
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
  }
}

describe('Workflows expression parser', () => {
  it.each([
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['(1 + 2) * 3', '((1 + 2) * 3)'],
    ['10 // 3 % 2 - 1', '(((10 // 3) % 2) - 1)'],
    ['-a * b', '((- a) * b)'],
    ['-a.b[0]', '(- a.b[0])'],
    ['not a == b', '((not a) == b)'],
    ['a == 1 or b != 2 and c', '((a == 1) or ((b != 2) and c))'],
    ['"x" in keys(m) AND NOT done', '(("x" in keys(m)) and (not done))'],
    ['a < b == true', '((a < b) == true)'],
    ['args.instance["id"]', 'args.instance["id"]'],
    ['m[k].list[i + 1]', 'm[k].list[(i + 1)]'],
    ['sys.get_env("GOOGLE_CLOUD_PROJECT_ID")', 'sys.get_env("GOOGLE_CLOUD_PROJECT_ID")'],
    ['map.get(args, "instance")', 'map.get(args, "instance")'],
    ['len(x) > 0', '(len(x) > 0)'],
    ['True or FALSE and null == NULL', '(true or (false and (null == null)))'],
    ["'it\\'s' + \"\\n\"", '("it\'s" + "\\n")'],
    ['1.5e3 + 2', '(1500 + 2)'],
    ['[1, a + 1][0]', '[1, (a + 1)][0]'],
    ['{"k": [ ], "j": {}}.k', '{"k": [], "j": {}}.k'],
    ['2 in []', '(2 in [])'],
  ])('%s', (src, expected) => {
    expect(show(parseExpression(src))).toBe(expected);
  });

  it('tells integers from doubles', () => {
    expect(parseExpression('3')).toEqual({ type: 'literal', value: 3n });
    expect(parseExpression('3.0')).toEqual({ type: 'literal', value: 3 });
    expect(parseExpression('9223372036854775807')).toEqual({ type: 'literal', value: 9223372036854775807n });
  });

  it.each([
    ['1 +', 'unexpected end of expression at offset 3'],
    ['(1 + 2', "expected ')' at offset 6"],
    ['a b', "unexpected 'b' after the expression at offset 2"],
    ['"abc', 'unterminated string at offset 0'],
    ['a # b', 'unexpected character "#" at offset 2'],
    ['x.', 'expected a property name after "." at offset 2'],
    ['And', 'unexpected "And" at offset 0'],
    ['"\\q"', 'unknown escape \\q at offset 1'],
  ])('%j is a syntax error naming where', (src, message) => {
    expect(() => parseExpression(src)).toThrow(ExpressionSyntaxError);
    expect(() => parseExpression(src)).toThrow(message);
  });
});
