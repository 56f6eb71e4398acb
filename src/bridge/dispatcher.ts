// The worker's side of the bridge: the two callbacks the Rust engine calls (one per request,
// one per connection event) and the shared arrays they read and write.

import type { AccessLog } from '../access-log.js'
import type { Statsd } from '../statsd.js'
import { EV_BODY, EV_BODY_END, EV_BODY_ERROR, EV_CLOSED, EV_DRAIN } from '../native.js'
import { buildEnviron, type Environ, type EnvironContext, F_BODY_COMPLETE, M_FLAGS, M_ID, M_LISTENER, requestMetaLength } from './environ.js'
import { type App, Exchange, type ExchangeHost } from './exchange.js'
import { RequestBodyError, RequestInput } from './input.js'

/** Response headers one call can carry. */
const MAX_RESPONSE_HEADERS = 1024

export interface Dispatcher {
  reqMeta: Int32Array
  resMeta: Int32Array
  onRequest(text: string, body: Buffer | undefined, trailers: string | undefined): void
  onEvent(kind: number, id: number, chunk: Buffer | string | undefined): void
  /** Requests whose response is not complete yet. */
  inFlight(): number
}

/** Per-request hooks, called only when the config defines them. */
export interface RequestHooks {
  pre?: (environ: Environ) => void
  post?: (environ: Environ, status: string | undefined) => void
}

/**
 * @param apps the app serving each listener, by listener index (the same app on every
 *   listener of a worker; one per server in-process). The array may grow with the listeners.
 */
export function createDispatcher(
  apps: App[],
  maxHeaders: number,
  ctx: EnvironContext,
  hooks: RequestHooks = {},
  accessLog?: AccessLog,
  statsd?: Statsd,
): Dispatcher {
  const reqMeta = new Int32Array(requestMetaLength(maxHeaders))
  const resMeta = new Int32Array(1 + 2 * MAX_RESPONSE_HEADERS)
  // Only requests that outlive their dispatch call (a streamed body, an async answer) are
  // tracked; the common synchronous request never touches the map.
  const live = new Map<number, Exchange>()
  const timed = accessLog?.timed === true || statsd !== undefined
  const settle = (exchange: Exchange) => {
    if (live.get(exchange.id) === exchange) live.delete(exchange.id)
    hooks.post?.(exchange.environ, exchange.statusLine)
  }
  // Chosen once, so a server without an access log or statsd pays nothing for them when a
  // request ends.
  const logged: (exchange: Exchange) => void =
    accessLog === undefined
      ? settle
      : (exchange) => {
          accessLog.record(exchange)
          settle(exchange)
        }
  const host: ExchangeHost = {
    resMeta,
    track: (id, exchange) => live.set(id, exchange),
    settle:
      statsd === undefined
        ? logged
        : (exchange) => {
            statsd.request(exchange)
            logged(exchange)
          },
  }

  return {
    reqMeta,
    resMeta,
    onRequest(text, body, trailers) {
      const id = reqMeta[M_ID]
      const complete = (reqMeta[M_FLAGS] & F_BODY_COMPLETE) !== 0
      const input = new RequestInput(id, body, complete, trailers)
      const exchange = new Exchange(id, buildEnviron(text, reqMeta, input, ctx), host)
      if (timed) exchange.startTime = performance.now()
      if (!complete) live.set(id, exchange)
      hooks.pre?.(exchange.environ)
      exchange.run(apps[reqMeta[M_LISTENER]])
    },
    onEvent(kind, id, chunk) {
      const exchange = live.get(id)
      if (exchange === undefined) return
      switch (kind) {
        case EV_BODY:
          exchange.input.push(chunk as Buffer)
          break
        case EV_BODY_END:
          exchange.input.end(chunk as string | undefined)
          break
        case EV_BODY_ERROR:
          exchange.input.fail(new RequestBodyError('the request body is malformed or was cut short'))
          break
        case EV_DRAIN:
          exchange.drained()
          break
        case EV_CLOSED:
          exchange.closed()
          break
      }
    },
    inFlight: () => live.size,
  }
}
