/**
 * http.* of the local Workflows engine over real loopback HTTP: a fake server records what it was
 * asked, the tests assert on that and on what the workflow gets back. Time is a ManualClock, so
 * timeouts never wait. Each test names the Google documentation page it pins.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_BACKOFF,
  httpFunctions,
  isInternalHost,
  MAX_RESPONSE_BYTES,
  NAMED_BACKOFFS,
  NAMED_RETRY_POLICIES,
  retryFunctions,
  WORKFLOWS_USER_AGENT,
} from '../../src/stdlib/http.js';
import { CLOUD_PLATFORM_SCOPE, LocalTokenSource } from '../../src/run/tokens.js';
import { Bytes, errorMap, fromPlain, parseJson, toPlain, type Value } from '../../src/run/values.js';
import { callStep, closedPort, fakeContext, find, ManualClock, settle, startFake, type FakeServer, raised } from '../support/context.js';

const DOC = {
  request: 'https://cloud.google.com/workflows/docs/reference/stdlib/http/request',
  get: 'https://cloud.google.com/workflows/docs/reference/stdlib/http/get',
  post: 'https://cloud.google.com/workflows/docs/reference/stdlib/http/post',
  httpRequests: 'https://cloud.google.com/workflows/docs/http-requests',
  errors: 'https://cloud.google.com/workflows/docs/reference/syntax/error-types',
  pricing: 'https://cloud.google.com/workflows/pricing',
  quotas: 'https://cloud.google.com/workflows/quotas',
  retryPredicate: 'https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry_predicate',
  retryPredicateNonIdempotent: 'https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry_predicate_non_idempotent',
  defaultRetry: 'https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry',
  defaultRetryNonIdempotent: 'https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry_non_idempotent',
  defaultBackoff: 'https://cloud.google.com/workflows/docs/reference/stdlib/retry/default_backoff',
} as const;

const fn = (name: string) => find([...httpFunctions, ...retryFunctions], name);
let fake: FakeServer;

beforeAll(async () => {
  fake = await startFake();
});
afterAll(async () => {
  await fake.close();
});

const last = () => fake.requests[fake.requests.length - 1]!;
const json = (status: number, body: string, headers: Record<string, string> = {}) =>
  fake.respond((_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(body);
  });

describe('http.get / http.request: the request sent', () => {
  it(`GET with a query map: strings, ints, doubles, booleans and lists URL-encoded, appended to the URL's own query — ${DOC.request}`, async () => {
    json(200, '{}');
    const { ctx } = fakeContext();
    await callStep(
      fn('http.get'),
      { url: `${fake.url}/items?fixed=1`, query: { q: 'a b&c', n: 7, x: 1.5, on: true, tag: ['p', 'q'] } },
      ctx,
    );
    const req = last();
    expect(req.method).toBe('GET');
    const u = new URL(req.url, fake.url);
    expect(u.pathname).toBe('/items');
    expect([...u.searchParams]).toEqual([
      ['fixed', '1'],
      ['q', 'a b&c'],
      ['n', '7'],
      ['x', '1.5'],
      ['on', 'true'],
      ['tag', 'p'],
      ['tag', 'q'],
    ]);
  });

  it(`sends the Workflows User-Agent, appended to a user-supplied one; custom headers pass through — ${DOC.httpRequests}`, async () => {
    json(200, '{}');
    const { ctx } = fakeContext();
    await callStep(fn('http.get'), { url: fake.url }, ctx);
    expect(last().headers['user-agent']).toBe(WORKFLOWS_USER_AGENT);
    await callStep(fn('http.get'), { url: fake.url, headers: { 'User-Agent': 'bootwarden/1', 'X-Trace': 'abc' } }, ctx);
    expect(last().headers['user-agent']).toBe(`bootwarden/1 ${WORKFLOWS_USER_AGENT}`);
    expect(last().headers['x-trace']).toBe('abc');
  });

  it(`a map body is JSON-encoded with Content-Type: application/json; charset=utf-8 (integers stay integers) — ${DOC.post}`, async () => {
    json(200, '{}');
    const { ctx } = fakeContext();
    await callStep(
      fn('http.post'),
      { url: fake.url, body: parseJson('{"vm": "web-1", "count": 3, "ratio": 2.0, "ok": true, "none": null}') },
      ctx,
    );
    expect(last().method).toBe('POST');
    expect(last().headers['content-type']).toBe('application/json; charset=utf-8');
    expect(last().body.toString()).toBe('{"vm":"web-1","count":3,"ratio":2.0,"ok":true,"none":null}');
  });

  it(`a bytes body without Content-Type is sent as application/octet-stream — ${DOC.request}`, async () => {
    json(200, '{}');
    const { ctx } = fakeContext();
    await callStep(fn('http.put'), { url: fake.url, body: new Bytes(new Uint8Array([0, 255, 7])) }, ctx);
    expect(last().method).toBe('PUT');
    expect(last().headers['content-type']).toBe('application/octet-stream');
    expect([...last().body]).toEqual([0, 255, 7]);
  });

  it(`with a Content-Type header the body is encoded as it prescribes: form-urlencoded map, text string — ${DOC.httpRequests}`, async () => {
    json(200, '{}');
    const { ctx } = fakeContext();
    await callStep(
      fn('http.patch'),
      { url: fake.url, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: { a: 'x y', b: 2 } },
      ctx,
    );
    expect(last().method).toBe('PATCH');
    expect(last().body.toString()).toBe('a=x+y&b=2');
    await callStep(fn('http.post'), { url: fake.url, headers: { 'Content-Type': 'text/plain' }, body: 'héllo' }, ctx);
    expect(last().headers['content-type']).toBe('text/plain');
    expect(last().body.toString('utf8')).toBe('héllo');
    await expect(
      callStep(fn('http.post'), { url: fake.url, headers: { 'Content-Type': 'text/plain' }, body: { a: 1 } }, ctx),
    ).rejects.toThrow(/TypeError/);
  });

  it(`http.request sends any documented method and refuses others with ValueError; http.delete takes a body — ${DOC.request}`, async () => {
    json(200, '{}');
    const { ctx } = fakeContext();
    for (const method of ['OPTIONS', 'DELETE', 'PATCH']) {
      await callStep(fn('http.request'), { method, url: fake.url }, ctx);
      expect(last().method).toBe(method);
    }
    await callStep(fn('http.delete'), { url: fake.url, body: { reason: 'gone' } }, ctx);
    expect(last().method).toBe('DELETE');
    expect(last().body.toString()).toBe('{"reason":"gone"}');
    const e = await raised(callStep(fn('http.request'), { method: 'TRACE', url: fake.url }, ctx));
    expect(e.get('tags')).toEqual(['ValueError']);
  });

  it(`headers must be a map of strings (TypeError otherwise) — ${DOC.request}`, async () => {
    const { ctx } = fakeContext();
    const e = await raised(callStep(fn('http.get'), { url: fake.url, headers: { 'X-N': 5 } }, ctx));
    expect(e.get('tags')).toEqual(['TypeError']);
  });
});

describe('http.*: the response the workflow gets', () => {
  it(`returns {body, code, headers}; a JSON body is parsed, keeping 1 an integer and 1.0 a double — ${DOC.httpRequests}`, async () => {
    json(200, '{"n": 1, "d": 1.0, "big": 9007199254740993, "list": [true, null]}', { 'X-Request-Id': 'r-1' });
    const { ctx } = fakeContext();
    const res = (await callStep(fn('http.get'), { url: fake.url }, ctx)) as Map<string, Value>;
    expect([...res.keys()].sort()).toEqual(['body', 'code', 'headers']);
    expect(res.get('code')).toBe(200n);
    const body = res.get('body') as Map<string, Value>;
    expect(body.get('n')).toBe(1n);
    expect(body.get('d')).toBe(1);
    expect(body.get('big')).toBe(9007199254740993n);
    const headers = res.get('headers') as Map<string, Value>;
    expect(headers.get('Content-Type')).toBe('application/json');
    expect(headers.get('X-Request-Id')).toBe('r-1');
  });

  it(`text/* bodies are strings, other types bytes, an empty JSON body is null — ${DOC.request}`, async () => {
    const { ctx } = fakeContext();
    fake.respond((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('héllo');
    });
    expect(((await callStep(fn('http.get'), { url: fake.url }, ctx)) as Map<string, Value>).get('body')).toBe('héllo');
    fake.respond((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.from([1, 2, 3]));
    });
    const bytes = ((await callStep(fn('http.get'), { url: fake.url }, ctx)) as Map<string, Value>).get('body');
    expect(bytes).toBeInstanceOf(Bytes);
    expect([...(bytes as Bytes).data]).toEqual([1, 2, 3]);
    fake.respond((_req, res) => {
      res.writeHead(204, { 'Content-Type': 'application/json' });
      res.end();
    });
    const empty = (await callStep(fn('http.delete'), { url: fake.url }, ctx)) as Map<string, Value>;
    expect(empty.get('code')).toBe(204n);
    expect(empty.get('body')).toBeNull();
  });

  it(`a HEAD request returns code and headers with a null body — ${DOC.request}`, async () => {
    json(200, '{"ignored": true}');
    const { ctx } = fakeContext();
    const res = (await callStep(fn('http.request'), { method: 'HEAD', url: fake.url }, ctx)) as Map<string, Value>;
    expect(last().method).toBe('HEAD');
    expect(res.get('code')).toBe(200n);
    expect(res.get('body')).toBeNull();
  });

  it(`status >= 400 raises HttpError with code, headers, body and message — ${DOC.errors}`, async () => {
    json(404, '{"error": {"code": 404, "status": "NOT_FOUND"}}', { 'X-Why': 'missing' });
    const { ctx } = fakeContext();
    const e = await raised(callStep(fn('http.get'), { url: `${fake.url}/nope` }, ctx));
    expect(e.get('tags')).toEqual(['HttpError']);
    expect(e.get('code')).toBe(404n);
    expect(e.get('message')).toBe('HTTP server responded with error code 404');
    expect((e.get('headers') as Map<string, Value>).get('X-Why')).toBe('missing');
    expect(toPlain(e.get('body')!)).toEqual({ error: { code: 404, status: 'NOT_FOUND' } });
  });

  it(`a 3xx redirect is followed to its target — ${DOC.request}`, async () => {
    fake.respond((req, res) => {
      if (req.url === '/old') {
        res.writeHead(302, { Location: '/new' });
        res.end();
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(req.url);
      }
    });
    const { ctx } = fakeContext();
    const res = (await callStep(fn('http.get'), { url: `${fake.url}/old` }, ctx)) as Map<string, Value>;
    expect(res.get('body')).toBe('/new');
  });

  it(`a response above 2 MB raises ResourceLimitError — ${DOC.quotas}`, async () => {
    fake.respond((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.alloc(MAX_RESPONSE_BYTES + 1));
    });
    const { ctx } = fakeContext();
    const e = await raised(callStep(fn('http.get'), { url: fake.url }, ctx));
    expect(e.get('tags')).toEqual(['ResourceLimitError']);
  });
});

describe('http.*: network failures and timeouts', () => {
  it(`nothing listening: ConnectionFailedError (retry-safe), also tagged ConnectionError as http.request lists it — ${DOC.errors}`, async () => {
    const { ctx } = fakeContext();
    const e = await raised(callStep(fn('http.post'), { url: `http://127.0.0.1:${await closedPort()}/x`, body: { a: 1 } }, ctx));
    expect(e.get('tags')).toEqual(['ConnectionFailedError', 'ConnectionError']);
  });

  it(`the connection drops before the whole response arrived: ConnectionError only — ${DOC.errors}`, async () => {
    fake.respond((_req, res) => res.socket?.destroy());
    const { ctx } = fakeContext();
    const e = await raised(callStep(fn('http.post'), { url: fake.url, body: { a: 1 } }, ctx));
    expect(e.get('tags')).toEqual(['ConnectionError']);
    fake.respond((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"partial":');
      setImmediate(() => res.socket?.destroy());
    });
    const e2 = await raised(callStep(fn('http.get'), { url: fake.url }, ctx));
    expect(e2.get('tags')).toEqual(['ConnectionError']);
  });

  it(`no answer within the default 300 s raises TimeoutError (clock-driven, no real wait) — ${DOC.request}`, async () => {
    fake.respond(() => undefined); // never answers
    const clock = new ManualClock();
    const { ctx } = fakeContext({ clock });
    const seen = fake.requests.length;
    const call = raised(callStep(fn('http.get'), { url: fake.url }, ctx));
    await vi.waitFor(() => expect(fake.requests.length).toBe(seen + 1));
    await clock.advance(299_999);
    let done = false;
    void call.then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    await clock.advance(1);
    const e = await call;
    expect(e.get('tags')).toEqual(['TimeoutError']);
    expect(clock.pending).toBe(0);
  });

  it(`timeout is honoured in seconds and limited to 1800 (ValueError above) — ${DOC.request}`, async () => {
    fake.respond(() => undefined);
    const clock = new ManualClock();
    const { ctx } = fakeContext({ clock });
    const call = raised(callStep(fn('http.get'), { url: fake.url, timeout: 2.5 }, ctx));
    await vi.waitFor(() => expect(clock.pending).toBe(1));
    await clock.advance(2_500);
    expect((await call).get('tags')).toEqual(['TimeoutError']);
    const e = await raised(callStep(fn('http.get'), { url: fake.url, timeout: 1801 }, ctx));
    expect(e.get('tags')).toEqual(['ValueError']);
  });

  it(`a cancelled execution aborts the request with the cancellation reason — ${DOC.request}`, async () => {
    fake.respond(() => undefined);
    const abort = new AbortController();
    const clock = new ManualClock();
    const { ctx } = fakeContext({ clock, signal: abort.signal });
    const seen = fake.requests.length;
    const call = callStep(fn('http.get'), { url: fake.url }, ctx);
    await vi.waitFor(() => expect(fake.requests.length).toBe(seen + 1));
    const reason = new Error('execution cancelled');
    abort.abort(reason);
    await expect(call).rejects.toBe(reason);
    expect(clock.pending).toBe(0);
  });
});

describe('http.*: auth', () => {
  const clock = new ManualClock();
  const tokens = new LocalTokenSource({ clock });

  it(`auth OIDC: Bearer token whose audience defaults to the URL; audience overrides it — ${DOC.httpRequests}`, async () => {
    json(200, '{}');
    const { ctx } = fakeContext({ clock, tokens });
    const url = `${fake.url}/hook`;
    await callStep(fn('http.post'), { url, auth: { type: 'OIDC' }, body: {} }, ctx);
    const claims = tokens.verify(last().headers.authorization!.replace(/^Bearer /, ''));
    expect(claims).toMatchObject({ ok: true, claims: { type: 'OIDC', aud: url } });
    await callStep(fn('http.post'), { url, auth: { type: 'OIDC', audience: 'https://slack-app.run.app' }, body: {} }, ctx);
    expect(tokens.verify(last().headers.authorization!.slice('Bearer '.length))).toMatchObject({
      ok: true,
      claims: { aud: 'https://slack-app.run.app' },
    });
  });

  it(`auth OAuth2: scope defaults to cloud-platform; scopes accepts a list — ${DOC.httpRequests}`, async () => {
    json(200, '{}');
    const { ctx } = fakeContext({ clock, tokens });
    await callStep(fn('http.get'), { url: fake.url, auth: { type: 'OAuth2' } }, ctx);
    expect(tokens.verify(last().headers.authorization!.slice('Bearer '.length))).toMatchObject({
      ok: true,
      claims: { type: 'OAuth2', scope: CLOUD_PLATFORM_SCOPE },
    });
    await callStep(fn('http.get'), { url: fake.url, auth: { type: 'OAuth2', scopes: ['s1', 's2'] } }, ctx);
    expect(tokens.verify(last().headers.authorization!.slice('Bearer '.length))).toMatchObject({ ok: true, claims: { scope: 's1 s2' } });
  });

  it(`an unknown auth type is a ValueError; failing to mint credentials is an AuthError — ${DOC.errors}`, async () => {
    const { ctx } = fakeContext({ clock, tokens });
    expect((await raised(callStep(fn('http.get'), { url: fake.url, auth: { type: 'Basic' } }, ctx))).get('tags')).toEqual(['ValueError']);
    const broken = fakeContext({ clock, tokens: { token: () => Promise.reject(new Error('metadata server unreachable')) } });
    expect((await raised(callStep(fn('http.get'), { url: fake.url, auth: { type: 'OIDC' } }, broken.ctx))).get('tags')).toEqual([
      'AuthError',
    ]);
  });
});

describe('http.*: billing', () => {
  it(`a call to a host outside Google's domains bills the step as external — ${DOC.pricing}`, async () => {
    json(200, '{}');
    const f = fakeContext();
    await callStep(fn('http.get'), { url: fake.url }, f.ctx);
    expect(f.external()).toBe(1);
  });

  it.each([
    ['compute.googleapis.com', true],
    ['workflowexecutions.googleapis.com', true],
    ['my-vm.cloud.goog', true],
    ['proj.appspot.com', true],
    ['slack-app-abc-uc.a.run.app', true],
    ['us-central1-proj.cloudfunctions.net', true],
    ['googleapis.com.evil.example', false],
    ['hooks.slack.com', false],
    ['127.0.0.1', false],
  ])(`%s is internal: %s — ${DOC.pricing}`, (host, internal) => {
    expect(isInternalHost(host)).toBe(internal);
  });
});

describe('retry predicates and named policies', () => {
  const httpError = (code: number) => errorMap('HttpError', 'x', { code: BigInt(code) });
  const tagged = (tag: string) => errorMap(tag, 'x');
  const cases: [string, boolean, boolean, Value][] = [
    // [case, default_retry_predicate, default_retry_predicate_non_idempotent, error]
    ['HttpError 429', true, true, httpError(429)],
    ['HttpError 500', false, false, httpError(500)],
    ['HttpError 502', true, false, httpError(502)],
    ['HttpError 503', true, true, httpError(503)],
    ['HttpError 504', true, false, httpError(504)],
    ['HttpError 404', false, false, httpError(404)],
    ['ConnectionError', true, false, tagged('ConnectionError')],
    ['ConnectionFailedError', true, true, tagged('ConnectionFailedError')],
    ['ConnectionFailedError+ConnectionError', true, true, errorMap(['ConnectionFailedError', 'ConnectionError'], 'x')],
    ['TimeoutError', true, false, tagged('TimeoutError')],
    ['ValueError', false, false, tagged('ValueError')],
    ['a raised string', false, false, 'boom'],
    ['a map without tags or code', false, false, fromPlain({ message: 'x' })],
  ];
  it.each(cases)(
    `%s → default_retry_predicate %s, non_idempotent %s — ${DOC.retryPredicate} ${DOC.retryPredicateNonIdempotent}`,
    async (_name, idem, nonIdem, e) => {
      const { ctx } = fakeContext();
      expect(await fn('http.default_retry_predicate').call([e], ctx)).toBe(idem);
      expect(await fn('http.default_retry_predicate_non_idempotent').call([e], ctx)).toBe(nonIdem);
    },
  );

  it(`http.default_retry and _non_idempotent: their predicate, 5 retries, retry.default_backoff (1 s, 60 s, ×1.25) — ${DOC.defaultRetry} ${DOC.defaultRetryNonIdempotent} ${DOC.defaultBackoff}`, () => {
    expect(DEFAULT_BACKOFF).toEqual({ initialDelay: 1, maxDelay: 60, multiplier: 1.25 });
    expect(NAMED_BACKOFFS.get('retry.default_backoff')).toBe(DEFAULT_BACKOFF);
    expect(NAMED_RETRY_POLICIES.get('http.default_retry')).toMatchObject({
      predicate: 'http.default_retry_predicate',
      maxRetries: 5,
      backoff: DEFAULT_BACKOFF,
    });
    expect(NAMED_RETRY_POLICIES.get('http.default_retry_non_idempotent')).toMatchObject({
      predicate: 'http.default_retry_predicate_non_idempotent',
      maxRetries: 5,
      backoff: DEFAULT_BACKOFF,
    });
    for (const p of NAMED_RETRY_POLICIES.values()) expect(httpFunctions.some((f) => f.name === p.predicate)).toBe(true);
  });

  it(`retry.always and retry.never predicates — https://cloud.google.com/workflows/docs/reference/stdlib/retry/always`, async () => {
    const { ctx } = fakeContext();
    expect(await fn('retry.always').call([tagged('ValueError')], ctx)).toBe(true);
    expect(await fn('retry.never').call([httpError(503)], ctx)).toBe(false);
  });
});
