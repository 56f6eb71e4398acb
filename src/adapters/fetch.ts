// The fetch interface: serves an object with a `fetch(request)` method (Hono, itty-router,
// Bun- and Deno-style apps) through the native interface. The environ becomes a standard
// Request whose body streams from `ugn.input`; the Response's body streams back through the
// exchange, which stops pulling it while the client is slow.

import { STATUS_CODES } from 'node:http'

import type { Environ } from '../bridge/environ.js'
import type { App, Body, StartResponse } from '../bridge/exchange.js'
import type { RequestInput } from '../bridge/input.js'
import { describe, log } from '../log.js'
import { forEachRequestHeader, requestHost } from './request-headers.js'

export interface FetchTarget {
  fetch(request: Request, env?: unknown, ctx?: unknown): Response | Promise<Response>
}

/** The third argument of `fetch`, as Cloudflare-style apps (Hono's `c.executionCtx`) expect:
 * work passed to `waitUntil` runs after the response, and its failure is logged. */
const executionContext = Object.freeze({
  waitUntil(promise: Promise<unknown>): void {
    Promise.resolve(promise).catch((err) => log.error(`Error in a waitUntil task: ${describe(err)}`))
  },
})

function requestUrl(environ: Environ): string {
  const target = environ.RAW_URI
  // An absolute-form target (as proxies send) already names scheme and host.
  if (!target.startsWith('/')) return target === '*' ? `${environ['ugn.url_scheme']}://${requestHost(environ)}/` : target
  return `${environ['ugn.url_scheme']}://${requestHost(environ)}${target}`
}

function bodyStream(input: RequestInput): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await input.read()
      if (chunk === null) controller.close()
      else controller.enqueue(chunk)
    },
  })
}

async function requestBody(environ: Environ): Promise<Uint8Array | ReadableStream<Uint8Array> | null> {
  const method = environ.REQUEST_METHOD
  if (method === 'GET' || method === 'HEAD') return null
  const input = environ['ugn.input']
  if (!input.ended) return bodyStream(input)
  const whole = await input.buffer()
  return whole.length === 0 ? null : whole
}

function buildRequest(environ: Environ, body: Uint8Array | ReadableStream<Uint8Array> | null, signal: AbortSignal): Request {
  const headers = new Headers()
  forEachRequestHeader(environ, (name, value) => headers.append(name, value))
  return new Request(requestUrl(environ), {
    method: environ.REQUEST_METHOD,
    headers,
    body,
    signal,
    // Required by the fetch spec for a streamed request body.
    duplex: 'half',
  } as RequestInit)
}

function isResponse(value: unknown): value is Response {
  return value instanceof Response || (typeof (value as Response)?.status === 'number' && typeof (value as Response)?.headers?.forEach === 'function')
}

export function fetchApp(target: FetchTarget): App {
  return async (environ: Environ, startResponse: StartResponse): Promise<Body> => {
    const aborter = new AbortController()
    environ['ugn.on_close']((completed) => {
      if (!completed) aborter.abort(new Error('the client closed the connection'))
    })
    let request: Request
    try {
      request = buildRequest(environ, await requestBody(environ), aborter.signal)
    } catch (err) {
      // The Host header or target does not make a URL; the request itself is at fault.
      log.debug(`Cannot build a Request for ${environ.RAW_URI}: ${describe(err)}`)
      startResponse('400 Bad Request', [['Content-Type', 'text/plain']])
      return 'Bad Request\n'
    }
    const response: unknown = await target.fetch(request, environ, executionContext)
    if (!isResponse(response)) {
      throw new TypeError(`fetch() returned ${Object.prototype.toString.call(response)}, not a Response`)
    }
    const headers: [string, string][] = []
    response.headers.forEach((value, name) => {
      // Headers joins repeated fields with ", "; cookies cannot be joined and are kept apart.
      if (name !== 'set-cookie') headers.push([name, value])
    })
    for (const cookie of response.headers.getSetCookie?.() ?? []) headers.push(['set-cookie', cookie])
    startResponse(`${response.status} ${response.statusText || STATUS_CODES[response.status] || 'Unknown'}`, headers)
    return response.body as AsyncIterable<Uint8Array> | null
  }
}
