/**
 * Callback endpoints of the local Workflows engine over real loopback HTTP: the workflow side goes
 * through events.create_callback_endpoint / events.await_callback, the sender side is a plain
 * fetch with a LocalTokenSource token. Time is a ManualClock, so timeouts never wait. Each test
 * names the Google documentation page it pins.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { goTimestamp, LoopbackCallbackHub } from '../../src/run/callbacks.js';
import type { ExecutionInfo } from '../../src/run/runtime.js';
import { eventsFunctions } from '../../src/stdlib/events.js';
import { CLOUD_PLATFORM_SCOPE, LocalTokenSource } from '../../src/run/tokens.js';
import { Bytes, toPlain, type Value } from '../../src/run/values.js';
import { callStep, executionInfo, fakeContext, find, ManualClock, settle, raised } from '../support/context.js';

const DOC = {
  callbacks: 'https://cloud.google.com/workflows/docs/creating-callback-endpoints',
  create: 'https://cloud.google.com/workflows/docs/reference/stdlib/events/create_callback_endpoint',
  await: 'https://cloud.google.com/workflows/docs/reference/stdlib/events/await_callback',
  send: 'https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions.callbacks/sendHttpCallback',
  list: 'https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions.callbacks/list',
} as const;

const clock = new ManualClock();
const tokens = new LocalTokenSource({ clock });
const hub = new LoopbackCallbackHub({ tokens, clock });
const createEndpoint = find(eventsFunctions, 'events.create_callback_endpoint');
const awaitCallback = find(eventsFunctions, 'events.await_callback');
let executions = 0;

beforeAll(async () => {
  await hub.start();
});
afterAll(async () => {
  await hub.close();
});

/** A fresh execution with its own context; `abort` cancels it. */
function execution() {
  const info: ExecutionInfo = executionInfo(`exec-${++executions}`);
  const abort = new AbortController();
  const { ctx } = fakeContext({ clock, callbacks: hub, execution: info, signal: abort.signal });
  return { info, ctx, abort };
}

async function endpoint(ctx: ReturnType<typeof execution>['ctx'], method?: string): Promise<Map<string, Value>> {
  return (await callStep(createEndpoint, method === undefined ? {} : { http_callback_method: method }, ctx)) as Map<string, Value>;
}

/** A valid sender token now (the manual clock moves by hours in some tests; tokens live one). */
const senderToken = () => tokens.token('OAuth2', CLOUD_PLATFORM_SCOPE);

/** Sends a callback request; with a fresh valid token unless `token` says otherwise (null: none). */
async function send(
  url: string,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string>; token?: string | null } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  const t = init.token === undefined ? await senderToken() : init.token;
  if (t !== null) headers['Authorization'] = `Bearer ${t}`;
  return fetch(url, { method: init.method ?? 'POST', headers, ...(init.body === undefined ? {} : { body: init.body }) });
}

const waiters = (info: ExecutionInfo) => hub.callbacks(info.name).reduce((n, c) => n + c.waiters, 0);
const available = (info: ExecutionInfo) => hub.callbacks(info.name).reduce((n, c) => n + c.availablePayloads, 0);

/** Starts an await and waits until the hub counts it as a waiter. */
async function awaiting(e: ReturnType<typeof execution>, cb: Map<string, Value>, timeout?: number) {
  const before = waiters(e.info);
  let settled = false;
  const p = callStep(awaitCallback, timeout === undefined ? { callback: cb } : { callback: cb, timeout }, e.ctx);
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await vi.waitFor(() => expect(waiters(e.info)).toBe(before + 1));
  return { result: p, settled: () => settled };
}

describe('events.create_callback_endpoint', () => {
  it(`returns {url} shaped like .../v1/projects/P/locations/L/workflows/W/executions/E/callbacks/ID on the loopback host — ${DOC.send}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    expect([...cb.keys()]).toEqual(['url']);
    const url = cb.get('url') as string;
    expect(url.startsWith(`${hub.url}/v1/${e.info.name}/callbacks/`)).toBe(true);
    expect(url).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/v1\/projects\/demo-bootwarden\/locations\/us-central1\/workflows\/integrity-response\/executions\/exec-\d+\/callbacks\/[0-9a-f-]{36}$/,
    );
  });

  it(`http_callback_method defaults to POST and must be one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH — ${DOC.create}`, async () => {
    const e = execution();
    await endpoint(e.ctx);
    expect(hub.callbacks(e.info.name).map((c) => c.method)).toEqual(['POST']);
    for (const bad of ['get', 'TRACE', 'CONNECT']) expect((await raised(endpoint(e.ctx, bad))).get('tags')).toEqual(['ValueError']);
    expect((await raised(callStep(createEndpoint, { http_callback_method: 7 }, e.ctx))).get('tags')).toEqual(['TypeError']);
  });
});

describe('events.await_callback', () => {
  it(`round trip: an authorized POST resumes the execution with {http_request: {body, headers, method, query, url}, received_time, type}; the sender gets 200 and an empty message — ${DOC.callbacks}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const url = cb.get('url') as string;
    const w = await awaiting(e, cb);
    const token = await senderToken();
    const res = await send(`${url}?decision=approve&vm=a&vm=b`, {
      token,
      body: '{"approved": true, "count": 2, "ratio": 1.0}',
      headers: { 'Content-Type': 'application/json', 'X-Slack-User': 'U123' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const got = (await w.result) as Map<string, Value>;
    expect([...got.keys()].sort()).toEqual(['http_request', 'received_time', 'type']);
    expect(got.get('type')).toBe('HTTP');
    expect(got.get('received_time')).toBe(goTimestamp(clock.now()));
    const req = got.get('http_request') as Map<string, Value>;
    expect([...req.keys()].sort()).toEqual(['body', 'headers', 'method', 'query', 'url']);
    const body = req.get('body') as Map<string, Value>;
    expect(body.get('approved')).toBe(true);
    expect(body.get('count')).toBe(2n);
    expect(body.get('ratio')).toBe(1);
    expect(req.get('method')).toBe('POST');
    expect(toPlain(req.get('query')!)).toEqual({ decision: 'approve', vm: ['a', 'b'] });
    expect(req.get('url')).toBe(`${new URL(url).pathname}?decision=approve&vm=a&vm=b`);
    const headers = req.get('headers') as Map<string, Value>;
    expect(headers.get('Content-Type')).toBe('application/json');
    expect(headers.get('X-Slack-User')).toBe('U123');
    expect(headers.get('Authorization')).toBe(`Bearer ${token}`);
    expect(headers.has('Host')).toBe(false);
    expect(waiters(e.info)).toBe(0);
  });

  it(`a request that arrives before await_callback is kept, in order, for the next awaits — ${DOC.list}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const url = cb.get('url') as string;
    for (const n of [1, 2])
      expect((await send(url, { body: `{"n": ${n}}`, headers: { 'Content-Type': 'application/json' } })).status).toBe(200);
    expect(available(e.info)).toBe(2);
    const first = (await callStep(awaitCallback, { callback: cb }, e.ctx)) as Map<string, Value>;
    const second = (await callStep(awaitCallback, { callback: cb }, e.ctx)) as Map<string, Value>;
    expect(toPlain((first.get('http_request') as Map<string, Value>).get('body')!)).toEqual({ n: 1 });
    expect(toPlain((second.get('http_request') as Map<string, Value>).get('body')!)).toEqual({ n: 2 });
    expect(available(e.info)).toBe(0);
  });

  it(`one callback delivered twice: both requests are accepted; the first resumes the waiting step, the second waits for the next await — ${DOC.list}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const url = cb.get('url') as string;
    const w = await awaiting(e, cb);
    expect((await send(url, { body: 'first', headers: { 'Content-Type': 'text/plain' } })).status).toBe(200);
    expect((await send(url, { body: 'second', headers: { 'Content-Type': 'text/plain' } })).status).toBe(200);
    expect(((await w.result) as Map<string, Map<string, Value>>).get('http_request')!.get('body')).toBe('first');
    expect(available(e.info)).toBe(1);
    const again = (await callStep(awaitCallback, { callback: cb, timeout: 1 }, e.ctx)) as Map<string, Map<string, Value>>;
    expect(again.get('http_request')!.get('body')).toBe('second');
  });

  it(`no request within timeout seconds raises TimeoutError (clock-driven, no real wait) — ${DOC.await}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const w = await awaiting(e, cb, 60);
    await clock.advance(59_999);
    expect(w.settled()).toBe(false);
    await clock.advance(1);
    const err = await raised(w.result);
    expect(err.get('tags')).toEqual(['TimeoutError']);
    expect(waiters(e.info)).toBe(0);
  });

  it(`the timeout defaults to 43200 seconds (12 hours) — ${DOC.await}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const w = await awaiting(e, cb);
    await clock.advance(43_200_000 - 1);
    expect(w.settled()).toBe(false);
    await clock.advance(1);
    expect((await raised(w.result)).get('tags')).toEqual(['TimeoutError']);
  });

  it(`a request without a valid OAuth2 bearer token is refused (401, or 403 without the cloud-platform scope) and the execution keeps waiting — ${DOC.send}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const url = cb.get('url') as string;
    const w = await awaiting(e, cb);
    const noToken = await send(url, { token: null, body: '{}' });
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await noToken.json()) as { error: { status: string } }).error.status).toBe('UNAUTHENTICATED');
    expect((await send(url, { token: 'not-a-token', body: '{}' })).status).toBe(401);
    expect((await send(url, { token: await tokens.token('OIDC', url), body: '{}' })).status).toBe(401);
    expect(
      (await send(url, { token: await tokens.token('OAuth2', 'https://www.googleapis.com/auth/userinfo.email'), body: '{}' })).status,
    ).toBe(403);
    await settle();
    expect(w.settled()).toBe(false);
    expect(waiters(e.info)).toBe(1);
    expect(available(e.info)).toBe(0);
    expect((await send(url, { body: '{"ok": true}', headers: { 'Content-Type': 'application/json' } })).status).toBe(200);
    expect(toPlain(((await w.result) as Map<string, Map<string, Value>>).get('http_request')!.get('body')!)).toEqual({ ok: true });
  });

  it(`an expired token is refused with 401 — ${DOC.send}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const old = await senderToken();
    await clock.advance(3_600_000);
    expect((await send(cb.get('url') as string, { token: old, body: '{}' })).status).toBe(401);
  });

  it(`a callback can only be awaited by the execution that created it; other executions get a ValueError — ${DOC.callbacks}`, async () => {
    const owner = execution();
    const other = execution();
    const cb = await endpoint(owner.ctx);
    expect((await raised(callStep(awaitCallback, { callback: cb }, other.ctx))).get('tags')).toEqual(['ValueError']);
    const unknown = new Map<string, Value>([['url', `${hub.url}/v1/${owner.info.name}/callbacks/00000000-0000-0000-0000-000000000000`]]);
    expect((await raised(callStep(awaitCallback, { callback: unknown }, owner.ctx))).get('tags')).toEqual(['ValueError']);
  });

  it(`callback must be the map create_callback_endpoint returned (TypeError) and timeout positive (ValueError) — ${DOC.await}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    expect((await raised(callStep(awaitCallback, { callback: 'http://x' }, e.ctx))).get('tags')).toEqual(['TypeError']);
    expect((await raised(callStep(awaitCallback, { callback: new Map<string, Value>() }, e.ctx))).get('tags')).toEqual(['TypeError']);
    expect((await raised(callStep(awaitCallback, { callback: cb, timeout: -1 }, e.ctx))).get('tags')).toEqual(['ValueError']);
  });

  it(`cancelling the execution ends the wait with the cancellation reason and leaves no waiter or timer — ${DOC.await}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const pendingBefore = clock.pending;
    const w = await awaiting(e, cb);
    expect(clock.pending).toBe(pendingBefore + 1);
    const reason = new Error('cancelled by operator');
    e.abort.abort(reason);
    await expect(w.result).rejects.toBe(reason);
    expect(waiters(e.info)).toBe(0);
    expect(clock.pending).toBe(pendingBefore);
  });
});

describe('the callback endpoint over HTTP', () => {
  it(`a request with another method than the endpoint's is answered 405 with Allow, and delivers nothing — ${DOC.create}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx, 'PUT');
    const url = cb.get('url') as string;
    const w = await awaiting(e, cb);
    const wrong = await send(url, { method: 'POST', body: '{}' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('PUT');
    await settle();
    expect(w.settled()).toBe(false);
    expect((await send(url, { method: 'PUT', body: '{}', headers: { 'Content-Type': 'application/json' } })).status).toBe(200);
    expect(((await w.result) as Map<string, Map<string, Value>>).get('http_request')!.get('method')).toBe('PUT');
  });

  it(`an unknown callback is 404 — ${DOC.send}`, async () => {
    const e = execution();
    const res = await send(`${hub.url}/v1/${e.info.name}/callbacks/no-such-callback`, { body: '{}' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe('NOT_FOUND');
    expect((await send(`${hub.url}/v1/elsewhere`, { body: '{}' })).status).toBe(404);
  });

  it(`a GET callback: query parameters in query, no body → null; text bodies are strings, other bodies raw bytes — ${DOC.callbacks}`, async () => {
    const e = execution();
    const get = await endpoint(e.ctx, 'GET');
    const w = await awaiting(e, get);
    expect((await send(`${get.get('url') as string}?approved=true`, { method: 'GET' })).status).toBe(200);
    const req = ((await w.result) as Map<string, Map<string, Value>>).get('http_request')!;
    expect(req.get('method')).toBe('GET');
    expect(req.get('body')).toBeNull();
    expect(toPlain(req.get('query')!)).toEqual({ approved: 'true' });

    const post = await endpoint(e.ctx);
    const url = post.get('url') as string;
    await send(url, { body: 'plain words', headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    await send(url, { body: new Uint8Array([0xde, 0xad, 0xbe, 0xef]), headers: { 'Content-Type': 'application/octet-stream' } });
    const text = ((await callStep(awaitCallback, { callback: post }, e.ctx)) as Map<string, Map<string, Value>>).get('http_request')!;
    const bin = ((await callStep(awaitCallback, { callback: post }, e.ctx)) as Map<string, Map<string, Value>>).get('http_request')!;
    expect(text.get('body')).toBe('plain words');
    expect(bin.get('body')).toBeInstanceOf(Bytes);
    expect([...(bin.get('body') as Bytes).data]).toEqual([0xde, 0xad, 0xbe, 0xef]);
  });

  it(`a body sent without a Content-Type is decoded by content: JSON, else text, else bytes — ${DOC.callbacks}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const url = cb.get('url') as string;
    const bodies = ['{"approved": false}', 'approved=yes', new Uint8Array([0xff, 0xfe, 0x00])];
    for (const body of bodies) await send(url, { body, headers: { 'Content-Type': '' } });
    const got: Value[] = [];
    for (let i = 0; i < bodies.length; i++)
      got.push(
        ((await callStep(awaitCallback, { callback: cb }, e.ctx)) as Map<string, Map<string, Value>>).get('http_request')!.get('body')!,
      );
    expect(toPlain(got[0]!)).toEqual({ approved: false });
    expect(got[1]).toBe('approved=yes');
    expect(got[2]).toBeInstanceOf(Bytes);
  });

  it(`timeout 0 is refused (strict: the reference gives it no meaning) — ${DOC.await}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const refused = await raised(callStep(awaitCallback, { callback: cb, timeout: 0 }, e.ctx));
    expect(refused.get('tags')).toEqual(['ValueError']);
    expect(refused.get('message')).toMatch(/positive number of seconds \(zero or less is undocumented\)/);
  });

  it(`release(executionId) ends the execution's callbacks: waiters fail, later requests get 404 — ${DOC.list}`, async () => {
    const e = execution();
    const cb = await endpoint(e.ctx);
    const w = await awaiting(e, cb);
    hub.release(e.info.id);
    await expect(w.result).rejects.toThrow(/has ended/);
    expect(hub.callbacks(e.info.name)).toEqual([]);
    expect((await send(cb.get('url') as string, { body: '{}' })).status).toBe(404);
  });

  it(`1,000 executions waiting on callbacks cost well under 100 KB each, and nothing is left after release — ${DOC.list}`, async () => {
    const n = 1000;
    const list = Array.from({ length: n }, () => execution());
    const pendingBefore = clock.pending;
    const before = process.memoryUsage().heapUsed;
    const results: Promise<unknown>[] = [];
    for (const e of list) {
      const cb = await endpoint(e.ctx);
      const p = callStep(awaitCallback, { callback: cb }, e.ctx);
      p.catch(() => undefined);
      results.push(p);
    }
    await settle();
    const perExecution = (process.memoryUsage().heapUsed - before) / n;
    expect(list.reduce((sum, e) => sum + waiters(e.info), 0)).toBe(n);
    expect(clock.pending).toBe(pendingBefore + n);
    expect(perExecution).toBeLessThan(100 * 1024);
    for (const e of list) hub.release(e.info.id);
    await Promise.allSettled(results);
    expect(clock.pending).toBe(pendingBefore);
    expect(list.every((e) => hub.callbacks(e.info.name).length === 0)).toBe(true);
  });
});

describe('LocalTokenSource', () => {
  it('issues recognisable unsigned tokens and verifies shape, type and expiry', async () => {
    const c = new ManualClock();
    const src = new LocalTokenSource({ clock: c, subject: 'engine@local' });
    const t = await src.token('OIDC', 'https://slack-app.local');
    expect(t).toMatch(/^bootwarden-local\.OIDC\.[A-Za-z0-9_-]+$/);
    expect(src.verify(t)).toEqual({
      ok: true,
      claims: { type: 'OIDC', aud: 'https://slack-app.local', sub: 'engine@local', iat: c.now() / 1000, exp: c.now() / 1000 + 3600 },
    });
    expect(src.verify('bootwarden-local.OAuth2.e30')).toMatchObject({ ok: false });
    expect(src.verify('Bearer xyz')).toMatchObject({ ok: false });
    await c.advance(3_600_000);
    expect(src.verify(t)).toMatchObject({ ok: false, reason: 'the token has expired' });
  });
});
