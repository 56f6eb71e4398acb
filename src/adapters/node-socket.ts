// What `req.socket` and `res.socket` are under the node interface: the parts of `net.Socket`
// that frameworks read (addresses, `encrypted`, `writable`, `destroy`, 'close'), backed by the
// request's connection in the Rust engine. The bytes themselves travel through the request
// and response objects, never through this socket.

import { EventEmitter } from 'node:events'

import type { Environ } from '../bridge/environ.js'
import { requestLine } from '../bridge/exchange.js'
import { describe, log } from '../log.js'

function family(address: string): 'IPv4' | 'IPv6' | undefined {
  if (address === '') return undefined
  return address.includes(':') ? 'IPv6' : 'IPv4'
}

export class BridgeSocket extends EventEmitter {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly remoteFamily: 'IPv4' | 'IPv6' | undefined
  readonly localAddress: string | undefined
  readonly localPort: number | undefined
  /** Set on a TLS connection, as on a `tls.TLSSocket`. A scheme that a trusted proxy's headers
   * set is not this socket's: frameworks apply their own proxy trust (Express's "trust proxy")
   * to those headers. */
  readonly encrypted: true | undefined
  /** Open for reading and writing until the connection goes; the bytes themselves flow
   * through the request and response objects. (on-finished, used by Express's body parsers,
   * takes an unreadable socket to mean the request is over.) */
  readable = true
  writable = true
  destroyed = false
  /** The response went out whole: destroying the socket now cuts nothing short. */
  responseComplete = false
  readonly writableLength = 0
  readonly readableHighWaterMark = 16 * 1024
  readonly writableHighWaterMark = 16 * 1024
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly environ: Environ) {
    super()
    const remote = environ.REMOTE_ADDR
    this.remoteAddress = remote === '' ? undefined : remote
    this.remotePort = environ.REMOTE_PORT === '' ? undefined : Number(environ.REMOTE_PORT)
    this.remoteFamily = family(remote)
    this.localAddress = environ.SERVER_PORT === '' ? undefined : environ.SERVER_NAME
    this.localPort = environ.SERVER_PORT === '' ? undefined : Number(environ.SERVER_PORT)
    this.encrypted = environ['ugn.tls'] ? true : undefined
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (this.localAddress === undefined) return {}
    return { address: this.localAddress, family: family(this.localAddress) ?? 'IPv4', port: this.localPort as number }
  }

  /** Closes the connection; the response, if any was started, is cut short. */
  destroy(error?: Error): this {
    if (this.destroyed) return this
    if (error !== undefined && !this.responseComplete) {
      // `req.socket.destroy(err)`: the app gives up on its response for a reason the error log
      // must show, as for a failed body. (`res.destroy(err)` fails the response instead.)
      log.error(`Error handling request ${requestLine(this.environ)}: the app destroyed the connection\n${describe(error)}`)
    }
    this.environ['ugn.abort']()
    this.closed(error)
    return this
  }

  end(): this {
    return this.destroy()
  }

  /** Emits 'timeout' after `ms` without a response write, as `net.Socket` does when idle;
   * the connection stays open until a listener destroys it. */
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout) this.once('timeout', onTimeout)
    clearTimeout(this.timer)
    this.timer = ms > 0 && !this.destroyed ? setTimeout(() => this.emit('timeout'), ms).unref() : undefined
    return this
  }

  /** Restarts the idle timer: the response made progress. */
  touch(): void {
    this.timer?.refresh()
  }

  /** The engine sets TCP_NODELAY on every connection and manages keep-alive itself. */
  setNoDelay(): this {
    return this
  }

  setKeepAlive(): this {
    return this
  }

  // The socket does not hold the event loop open, and the engine already coalesces each
  // batch's writes, so these have nothing to do.
  ref(): this {
    return this
  }

  unref(): this {
    return this
  }

  cork(): void {}

  uncork(): void {}

  /** The connection is gone (closed by the client, or destroyed here). */
  closed(error?: Error): void {
    if (this.destroyed) return
    this.destroyed = true
    this.readable = false
    this.writable = false
    clearTimeout(this.timer)
    this.timer = undefined
    if (error !== undefined && this.listenerCount('error') > 0) this.emit('error', error)
    this.emit('close', error !== undefined)
  }
}
