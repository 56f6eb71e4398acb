// What `req.socket` and `res.socket` are under the node interface: the parts of `net.Socket`
// that frameworks read (addresses, `encrypted`, `writable`, `destroy`, 'close'), backed by the
// request's connection in the Rust engine. The bytes themselves travel through the request
// and response objects, never through this socket.

import { EventEmitter } from 'node:events'

import type { Environ } from '../bridge/environ.js'
import { requestLine } from '../bridge/exchange.js'
import { addSocketKnobs, IdleTimer, SocketInfo, type SocketKnobs } from '../bridge/socket-info.js'
import { describe, log } from '../log.js'

export interface BridgeSocket extends SocketKnobs, Readonly<Omit<SocketInfo, 'address'>> {}

export class BridgeSocket extends EventEmitter {
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
  private readonly info: SocketInfo
  private readonly idle = new IdleTimer(this)

  constructor(private readonly environ: Environ) {
    super()
    this.info = new SocketInfo(environ)
    // `encrypted` is set on a TLS connection only: a scheme that a trusted proxy's headers set
    // is not this socket's, and frameworks apply their own proxy trust (Express's "trust
    // proxy") to those headers.
    Object.assign(this, this.info)
  }

  address(): ReturnType<SocketInfo['address']> {
    return this.info.address()
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
    this.idle.set(ms, onTimeout, !this.destroyed)
    return this
  }

  /** Restarts the idle timer: the response made progress. */
  touch(): void {
    this.idle.touch()
  }

  // The engine already coalesces each batch's writes, so these have nothing to do.
  cork(): void {}

  uncork(): void {}

  /** The connection is gone (closed by the client, or destroyed here). */
  closed(error?: Error): void {
    if (this.destroyed) return
    this.destroyed = true
    this.readable = false
    this.writable = false
    this.idle.clear()
    if (error !== undefined && this.listenerCount('error') > 0) this.emit('error', error)
    this.emit('close', error !== undefined)
  }
}

addSocketKnobs(BridgeSocket.prototype)
