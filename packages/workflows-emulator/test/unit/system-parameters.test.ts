/**
 * Google's system parameters as the local APIs read them (src/api/system-parameters.ts).
 * The list: https://cloud.google.com/apis/docs/system-parameters (`$alt`/`alt` json, media, proto,
 * sse; `$.xgafv` 1, 2 (default); `$prettyPrint`/`prettyPrint` true (default), false;
 * `$fields`/`fields`; `quotaUser`; `$key`/`key`; `passwd`/`password` reserved; `$callback`/`callback`
 * JSONP; `$ct`; `$apiVersion`; `$outputDefaults`; `$unique`; `$userProject`) and the standard
 * parameters of the APIs' discovery documents (`access_token`, `oauth_token`, `upload_protocol`,
 * `uploadType`, `trace`, Compute's `userIp`). `$prettyPrint=0` and `$alt=json;enum-encoding=int`
 * are what Google's google-gax sends (build/src/fallbackRest.js). The `fields` syntax is that of
 * Google's partial-response pages (https://developers.google.com/custom-search/v1/performance#partial):
 * `kind,items(title,characteristics/length)`.
 */
import { describe, expect, it } from 'vitest';
import {
  descriptorSchema,
  messageSchema,
  parseFieldMask,
  readSystemParameters,
  renderResponse,
  selectFields,
  SystemParameterError,
  type FieldMask,
  type MessageSchema,
} from '../../src/api/system-parameters.js';

const q = (s: string): URLSearchParams => new URLSearchParams(s);

/** A mask as plain nested objects, to compare. */
function plain(mask: FieldMask): unknown {
  return Object.fromEntries([...mask].map(([k, v]) => [k, v === true ? true : plain(v)]));
}

describe('readSystemParameters', () => {
  const accepted: [string, string, { prettyPrint: boolean; numericEnums: boolean }, string][] = [
    ['nothing', '', { prettyPrint: true, numericEnums: false }, ''],
    ["gcloud's alt=json", 'alt=json', { prettyPrint: true, numericEnums: false }, ''],
    [
      "google-gax's numeric enums and compact JSON",
      '$alt=json%3Benum-encoding%3Dint&$prettyPrint=0',
      { prettyPrint: false, numericEnums: true },
      '',
    ],
    ['prettyPrint=false, URL-encoded $', '%24prettyPrint=false', { prettyPrint: false, numericEnums: false }, ''],
    ['prettyPrint=true, error format 2', 'prettyPrint=true&$.xgafv=2', { prettyPrint: true, numericEnums: false }, ''],
    [
      'parameters without effect here, and the method’s own kept apart',
      'quotaUser=alice&trace=token:1&userIp=10.0.0.1&$unique=7&$userProject=p&upload_protocol=raw&uploadType=media&$ct=application/json;charset=utf-8&$outputDefaults=false&pageSize=2&filter=state%3D%22FAILED%22',
      { prettyPrint: true, numericEnums: false },
      'pageSize=2&filter=state%3D%22FAILED%22',
    ],
  ];
  it('leaves a bare name the table gives only with $ to the method (whose list refuses it)', () => {
    expect(readSystemParameters(q('unique=1&.xgafv=2')).api.toString()).toBe('unique=1&.xgafv=2');
  });

  it.each(accepted)('accepts %s', (_name, query, expected, api) => {
    const { system, api: rest } = readSystemParameters(q(query));
    expect({ prettyPrint: system.prettyPrint, numericEnums: system.numericEnums }).toEqual(expected);
    expect(rest.toString()).toBe(api);
  });

  const refused: [string, string, RegExp][] = [
    ['alt=proto (JSON only here)', 'alt=proto', /answers JSON only/],
    ['alt=media', '$alt=media', /answers JSON only/],
    ['an alt Google does not have', 'alt=xml', /expected one of json, media, proto, sse/],
    ['an alt option other than enum-encoding=int', '$alt=json;enum-encoding=name', /only option of alt=json is enum-encoding=int/],
    ['prettyPrint=yes', 'prettyPrint=yes', /expected true or false/],
    ['prettyPrint named after an Object property', 'prettyPrint=constructor', /expected true or false/],
    ['$outputDefaults named after an Object property', '$outputDefaults=__proto__', /expected true or false/],
    ['error format 1 (undocumented shape)', '$.xgafv=1', /Google does not document/],
    ['error format 3', '$.xgafv=3', /expected 1 or 2/],
    ['an API key', 'key=AIza', /issues no API keys/],
    ['a token in the query', 'access_token=t', /Authorization: Bearer header only/],
    ['an OAuth token in the query', 'oauth_token=t', /Authorization: Bearer header only/],
    ['JSONP', 'callback=cb', /JSONP/],
    ['$apiVersion', '$apiVersion=v2', /one version/],
    ['a password', 'password=hunter2', /passwords are never put in URLs/],
    ['$ct of another type', '$ct=text/plain', /JSON bodies only/],
    ['$outputDefaults=true', '$outputDefaults=true', /does not print default values/],
    ['an unknown $ parameter', '$foo=1', /Unknown system parameter "\$foo"/],
    ['quotaUser in a $ form the table does not give', '$quotaUser=alice', /Unknown system parameter "\$quotaUser"/],
    ['a malformed fields', 'fields=a(b', /"\)" is expected/],
  ];
  it.each(refused)('refuses %s, saying why', (_name, query, message) => {
    let caught: unknown;
    try {
      readSystemParameters(q(query));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SystemParameterError);
    expect(caught).toMatchObject({ code: 'invalid_argument', status: 400 });
    expect((caught as Error).message).toMatch(message);
  });
});

describe('parseFieldMask', () => {
  const cases: [string, unknown][] = [
    ['name', { name: true }],
    ['a,b', { a: true, b: true }],
    ['a/b/c', { a: { b: { c: true } } }],
    ['kind,items(title,characteristics/length)', { kind: true, items: { title: true, characteristics: { length: true } } }],
    ['items(a),items(b)', { items: { a: true, b: true } }],
    ['items(a),items', { items: true }],
    ['a/*', { a: { '*': true } }],
    ['executions( name , state ), nextPageToken', { executions: { name: true, state: true }, nextPageToken: true }],
    ['a(b),c(d(e))', { a: { b: true }, c: { d: { e: true } } }],
  ];
  it.each(cases)('%s', (text, expected) => {
    expect(plain(parseFieldMask(text))).toEqual(expected);
  });

  const bad: [string, RegExp][] = [
    ['a,', /a field name is expected at character 3/],
    ['a//b', /a field name is expected/],
    ['a(b', /"\)" is expected/],
    ['a)b', /"\)" is unexpected/],
    ['a-b', /"-" is unexpected/],
    ['a*b', /"a\*b" is not a field name/],
    // A hostile query cannot make the parser recurse without bound (a 500 from a stack overflow).
    ['a('.repeat(5000), /nests deeper than 32 levels/],
    [Array.from({ length: 40 }, () => 'a').join('/'), /nests deeper than 32 levels/],
    [`${'a('.repeat(32)}b${')'.repeat(32)}`, /nests deeper than 32 levels/],
  ];
  it.each(bad)('refuses %s', (text, message) => {
    expect(() => parseFieldMask(text)).toThrow(message);
  });
});

const ITEM = messageSchema({
  id: 'scalar',
  title: 'scalar',
  labels: 'map',
  meta: () => messageSchema({ length: 'scalar', mood: 'scalar' }),
});
const LIST: MessageSchema = messageSchema({ kind: 'scalar', items: () => ITEM, nextPageToken: 'scalar' });
const BODY = {
  kind: 'demo',
  nextPageToken: 't',
  items: [
    { id: '1', title: 'First', labels: { app: 'x' }, meta: { length: 'short', mood: 'calm' } },
    { id: '2', title: 'Second', meta: { length: 'long' } },
  ],
};

describe('selectFields and renderResponse', () => {
  const cases: [string, unknown][] = [
    ['kind', { kind: 'demo' }],
    [
      'items(id,meta/length)',
      {
        items: [
          { id: '1', meta: { length: 'short' } },
          { id: '2', meta: { length: 'long' } },
        ],
      },
    ],
    ['items/labels', { items: [{ labels: { app: 'x' } }, {}] }],
    ['items/meta/*', { items: [{ meta: { length: 'short', mood: 'calm' } }, { meta: { length: 'long' } }] }],
    ['*', BODY],
  ];
  it.each(cases)('fields=%s', (fields, expected) => {
    expect(selectFields(BODY, parseFieldMask(fields), LIST)).toEqual(expected);
  });

  it('refuses a name the message does not have, a field of a scalar and keys of a map, even where the list is empty', () => {
    const render = (fields: string, body: unknown = BODY): string =>
      renderResponse(body, readSystemParameters(q(`fields=${encodeURIComponent(fields)}`)).system, LIST);
    expect(() => render('items(nope)', { items: [] })).toThrow('Invalid field selection items/nope: the resource has no such field.');
    expect(() => render('kind/x')).toThrow(/kind has no fields/);
    expect(() => render('items/labels/app')).toThrow(/selecting keys of a map is not supported by the local API/);
    // A field the message has but this response leaves unset selects nothing.
    expect(render('items/meta/mood', { items: [{ meta: {} }] })).toBe('{\n  "items": [\n    {\n      "meta": {}\n    }\n  ]\n}\n');
  });

  it('indents by default, as Google does, and writes compact JSON under prettyPrint=false', () => {
    expect(renderResponse({ a: [1] }, readSystemParameters(q('')).system, LIST)).toBe('{\n  "a": [\n    1\n  ]\n}\n');
    expect(renderResponse({ a: [1] }, readSystemParameters(q('prettyPrint=false')).system, LIST)).toBe('{"a":[1]}');
  });
});

describe('descriptorSchema', () => {
  // A protobuf.js JSON descriptor of the shape the official clients ship.
  const root = {
    nested: {
      google: {
        nested: {
          protobuf: { nested: { Timestamp: { fields: { seconds: { type: 'int64' }, nanos: { type: 'int32' } } } } },
          demo: {
            nested: {
              v1: {
                nested: {
                  Instance: {
                    fields: {
                      name: { type: 'string' },
                      labels: { type: 'string', keyType: 'string' },
                      disks: { type: 'AttachedDisk' },
                      created: { type: 'google.protobuf.Timestamp' },
                      state: { type: 'State' },
                      child: { type: 'Instance' },
                      inner: { type: 'Inner' },
                    },
                    nested: { Inner: { fields: { x: { type: 'string' } } }, State: { values: { ON: 0 } } },
                  },
                  AttachedDisk: { fields: { licenses: { type: 'string' } } },
                },
              },
            },
          },
        },
      },
    },
  };
  const schema = descriptorSchema(root, 'google.demo.v1.Instance');

  it('gives each field its kind: nested and sibling messages, maps, enums and well-known types as scalars, recursion', () => {
    expect(schema('name')).toBe('scalar');
    expect(schema('labels')).toBe('map');
    expect(schema('state')).toBe('scalar');
    expect(schema('created')).toBe('scalar');
    expect(schema('nope')).toBeUndefined();
    expect(schema('constructor')).toBeUndefined();
    const disks = schema('disks');
    expect(typeof disks === 'object' && disks.message('licenses')).toBe('scalar');
    const inner = schema('inner');
    expect(typeof inner === 'object' && inner.message('x')).toBe('scalar');
    const child = schema('child');
    expect(typeof child === 'object' && child.message('labels')).toBe('map');
  });

  it('refuses a type the descriptor does not have', () => {
    expect(() => descriptorSchema(root, 'google.demo.v1.Nope')).toThrow(/not a message of the descriptor/);
  });
});
