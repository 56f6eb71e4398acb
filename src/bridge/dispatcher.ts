// The worker's side of the bridge: the two callbacks the Rust engine calls (one per request,
// one per connection event) and the shared arrays they read and write.

import type { AccessLog } from '../access-log.js'
import type { Statsd } from '../statsd.js'
import { EV_BODY, EV_BODY_END, EV_BODY_ERROR, EV_CLOSED, EV_DRAIN } from '../native.js'
import { buildEnviron, type Environ, type EnvironContext, F_BODY_COMPLETE, M_FLAGS, M_ID, M_LISTENER, requestMetaLength } from './environ.js'
import { type App, type ConnectionReceiver, Exchange, type ExchangeHost } from './exchange.js'
import { RequestInput } from './input.js'
import { UpgradedSocket } from './upgraded-socket.js'

/** Response headers one call can carry. */
const MAX_RESPONSE_HEADERS = 1024

/** A connection id's low bits index the engine's connection table; the rest is the slot's
 * generation (crates/ugn-server/src/id.rs, INDEX_BITS). */
export const CONN_SLOT_MASK = (1 << 20) - 1

export interface Dispatcher {
  reqMeta: Int32Array
  resMeta: Int32Array
  onRequest(text: string, body: Buffer | undefined, trailers: string | undefined): void
  onEvent(kind: number, id: number, chunk: Buffer | string | undefined): void
  /** Requests whose response is not complete yet, and upgraded connections still open. */
  inFlight(): number
  /** Ends every upgraded connection (WebSockets with a 1001 close frame). */
  closeUpgraded(): void
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
  /** Told of every finished request: statsd, the worker's counters (src/worker-stats.ts). */
  statsd?: Pick<Statsd, 'request'>,
): Dispatcher {
  const reqMeta = new Int32Array(requestMetaLength(maxHeaders))
  const resMeta = new Int32Array(1 + 2 * MAX_RESPONSE_HEADERS)
  // Only requests that outlive their dispatch call (a streamed body, an async answer) are
  // tracked; the common synchronous request never touches the table. It is indexed by
  // connection slot and never rebuilt: a Map that sees a set and a delete per request replaces
  // its hash table every few hundred requests, and each discarded table points to its
  // successor. Once one of them is in the old generation, every later table and the exchanges
  // in it survive each scavenge until the next full GC, which made minor GCs of async apps
  // several times longer (docs/benchmarks.md).
  const live: (ConnectionReceiver | undefined)[] = []
  let liveCount = 0
  const track = (id: number, receiver: ConnectionReceiver) => {
    const slot = id & CONN_SLOT_MASK
    // A different receiver here belongs to a closed connection and gets no more events.
    if (live[slot] === undefined) liveCount++
    live[slot] = receiver
  }
  const release = (receiver: ConnectionReceiver) => {
    const slot = receiver.id & CONN_SLOT_MASK
    if (live[slot] === receiver) {
      live[slot] = undefined
      liveCount--
    }
  }
  const timed = accessLog?.timed === true || statsd !== undefined
  const settle = (exchange: Exchange) => {
    release(exchange)
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
    track,
    release,
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
      if (!complete) track(id, exchange)
      hooks.pre?.(exchange.environ)
      exchange.run(apps[reqMeta[M_LISTENER]])
    },
    onEvent(kind, id, chunk) {
      const receiver = live[id & CONN_SLOT_MASK]
      if (receiver?.id !== id) return
      switch (kind) {
        case EV_BODY:
          receiver.onBody(chunk as Buffer)
          break
        case EV_BODY_END:
          receiver.onBodyEnd(chunk as string | undefined)
          break
        case EV_BODY_ERROR:
          receiver.onBodyError()
          break
        case EV_DRAIN:
          receiver.onDrain()
          break
        case EV_CLOSED:
          receiver.onClosed()
          break
      }
    },
    inFlight: () => liveCount,
    closeUpgraded() {
      for (const receiver of live) if (receiver instanceof UpgradedSocket) receiver.goAway()
    },
  }
}
