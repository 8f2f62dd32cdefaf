/**
 * events.create_callback_endpoint and events.await_callback, delegating to the engine's
 * CallbackHub (ctx.callbacks).
 *
 * - https://cloud.google.com/workflows/docs/reference/stdlib/events/create_callback_endpoint:
 *   `http_callback_method`, one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH (default POST);
 *   returns `{url}`; ValueError / TypeError on bad input.
 * - https://cloud.google.com/workflows/docs/reference/stdlib/events/await_callback: `callback`
 *   (the map create_callback_endpoint returned) and `timeout` in seconds (float, default 43200);
 *   returns the callback request; TimeoutError, ValueError, TypeError.
 */
import type { StdFunction } from '../run/runtime.js';
import { raise, type Value } from '../run/values.js';
import * as check from './check.js';
import { HTTP_METHODS } from './http.js';

export const DEFAULT_HTTP_CALLBACK_METHOD = 'POST';
export const DEFAULT_AWAIT_CALLBACK_TIMEOUT_SECONDS = 43200;

const createCallbackEndpoint: StdFunction = {
  name: 'events.create_callback_endpoint',
  params: ['http_callback_method'],
  required: 0,
  call: async ([method], ctx) => {
    const fn = 'events.create_callback_endpoint';
    const m = method === undefined || method === null ? DEFAULT_HTTP_CALLBACK_METHOD : check.str(fn, 'http_callback_method', method);
    if (!(HTTP_METHODS as readonly string[]).includes(m))
      raise('ValueError', `${fn}: http_callback_method must be one of ${HTTP_METHODS.join(', ')}, got '${m}'`);
    const { url } = await ctx.callbacks.create(ctx.execution, m);
    return new Map<string, Value>([['url', url]]);
  },
};

const awaitCallback: StdFunction = {
  name: 'events.await_callback',
  params: ['callback', 'timeout'],
  required: 1,
  callOnly: true,
  call: ([callback, timeout], ctx) => {
    const fn = 'events.await_callback';
    const url = check.str(fn, 'callback.url', check.map(fn, 'callback', callback).get('url'));
    const seconds =
      timeout === undefined || timeout === null ? DEFAULT_AWAIT_CALLBACK_TIMEOUT_SECONDS : Number(check.num(fn, 'timeout', timeout));
    // The reference gives no meaning to a zero or negative timeout: refused rather than guessed.
    if (!Number.isFinite(seconds) || seconds <= 0)
      raise('ValueError', `${fn}: timeout must be a positive number of seconds (zero or less is undocumented), got ${seconds}`);
    return ctx.callbacks.await(ctx.execution, url, seconds, ctx.signal);
  },
};

export const eventsFunctions: readonly StdFunction[] = [createCallbackEndpoint, awaitCallback];
