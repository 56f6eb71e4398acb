// The fetch interface: serves an object with a `fetch(request)` method (Hono, itty-router,
// Bun- and Deno-style apps) through the native interface. The app gets a Request whose body
// streams from `ugn.input` (see fetch-request.ts); a Response's body streams back through the
// exchange, which stops pulling it while the client is slow, and a string or bytes body goes
// out in one call (see fetch-response.ts).

import { STATUS_CODES } from 'node:http'

import type { Environ } from '../bridge/environ.js'
import type { App, Body, StartResponse } from '../bridge/exchange.js'
import { describe, log } from '../log.js'
import { BridgeRequest } from './fetch-request.js'
import { installLightResponse, LightResponse } from './fetch-response.js'

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

/** A Response, or one from another copy of undici (its class is not the global one): an
 * integer status, headers that can be walked, and a body that is null or a ReadableStream.
 * Anything else (a plain object with a string body, say) is the app's mistake, not a body. */
function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true
  const candidate = value as Response | null | undefined
  const body = candidate?.body as { getReader?: unknown } | null | undefined
  return (
    Number.isInteger(candidate?.status) &&
    typeof candidate?.headers?.forEach === 'function' &&
    (body === null || typeof body?.getReader === 'function')
  )
}

type Header = [string, string]

/** Status line, headers and body of a Response as the native interface takes them. */
function answer(response: Response, startResponse: StartResponse): Body {
  const parts = LightResponse.isLight(response) ? response.sendable() : undefined
  if (parts !== undefined) {
    startResponse(statusLine(parts.status, parts.statusText), parts.headers)
    return parts.body
  }
  const headers: Header[] = []
  response.headers.forEach((value, name) => {
    // Headers joins repeated fields with ", "; cookies cannot be joined and are kept apart.
    if (name !== 'set-cookie') headers.push([name, value])
  })
  for (const cookie of response.headers.getSetCookie?.() ?? []) headers.push(['set-cookie', cookie])
  startResponse(statusLine(response.status, response.statusText), headers)
  return response.body as AsyncIterable<Uint8Array> | null
}

function statusLine(status: number, text: string): string {
  return `${status} ${text || STATUS_CODES[status] || 'Unknown'}`
}

export function fetchApp(target: FetchTarget): App {
  installLightResponse()
  return async (environ: Environ, startResponse: StartResponse): Promise<Body> => {
    let request: BridgeRequest
    try {
      request = new BridgeRequest(environ)
    } catch (err) {
      // The Host header or the target does not make a URL: the request is at fault.
      log.debug(`Cannot build a Request for ${environ.RAW_URI}: ${describe(err)}`)
      startResponse('400 Bad Request', [['Content-Type', 'text/plain']])
      return 'Bad Request\n'
    }
    const response: unknown = await target.fetch(request as unknown as Request, environ, executionContext)
    if (!isResponse(response)) {
      throw new TypeError(`fetch() returned ${Object.prototype.toString.call(response)}, not a Response`)
    }
    return answer(response, startResponse)
  }
}
