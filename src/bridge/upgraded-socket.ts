// A connection taken over from HTTP (`environ['ugn.upgrade']()`, the node interface's 'upgrade'
// event): a Duplex over the engine's unframed byte stream, with the parts of `net.Socket` that
// WebSocket libraries use. The engine delivers the client's bytes as events (the ones read past
// the request head first) and stops reading while this stream's buffer is full.

import { Duplex } from 'node:stream'

import { native, WRITE_FULL, WRITE_GONE } from '../native.js'
import type { Environ } from './environ.js'
import { addSocketKnobs, IdleTimer, SocketInfo, type SocketKnobs } from './socket-info.js'

/** A WebSocket close frame from a server (unmasked) with status 1001, "going away". */
const GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9])

function brokenPipe(): Error {
  return Object.assign(new Error('write EPIPE: the connection is closed'), { code: 'EPIPE' })
}

export interface UpgradedSocket extends SocketKnobs, Readonly<Omit<SocketInfo, 'address'>> {}

export class UpgradedSocket extends Duplex {
  readonly connecting = false
  private readonly info: SocketInfo
  private readonly idle = new IdleTimer(this)
  private paused = false
  private gone = false
  private pendingWrite: ((error?: Error | null) => void) | undefined
  private readonly websocket: boolean

  /** `release`: the connection is over; the dispatcher forgets it. */
  constructor(
    readonly id: number,
    environ: Environ,
    private readonly release: (socket: UpgradedSocket) => void,
  ) {
    // Half-open like the sockets of node:http's server: the client's end does not end ours.
    super({ allowHalfOpen: true })
    this.info = new SocketInfo(environ)
    Object.assign(this, this.info)
    this.websocket = environ.HTTP_UPGRADE?.toLowerCase() === 'websocket'
  }

  address(): ReturnType<SocketInfo['address']> {
    return this.info.address()
  }

  // The engine's events, routed here by the dispatcher.

  onBody(chunk: Buffer): void {
    this.idle.touch()
    if (!this.push(chunk) && !this.paused) {
      this.paused = true
      native.pauseBody(this.id, true)
    }
  }

  onBodyEnd(): void {
    this.push(null)
  }

  onBodyError(): void {
    this.destroy(new Error('the connection failed'))
  }

  onDrain(): void {
    const done = this.pendingWrite
    this.pendingWrite = undefined
    done?.()
  }

  /** The engine closed the connection (the client left, or both sides are done). */
  onClosed(): void {
    this.gone = true
    const done = this.pendingWrite
    this.pendingWrite = undefined
    done?.(brokenPipe())
    // A client that left without ending its side ends the readable side here, so listeners of
    // 'end' and of 'close' both hear of it, as with a reset net.Socket.
    if (!this.readableEnded) this.push(null)
    this.destroy()
  }

  /** A graceful stop ran out of time: a WebSocket is sent a close frame with status 1001 (going
   * away), if no frame of the app's is half written, and the connection is ended. */
  goAway(): void {
    if (this.gone) return
    if (this.websocket && this.writableLength === 0 && !this.writableCorked) native.write(this.id, GOING_AWAY)
    native.end(this.id)
  }

  // Duplex internals.

  override _read(): void {
    if (this.paused && !this.gone) {
      this.paused = false
      native.pauseBody(this.id, false)
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.gone) return callback(brokenPipe())
    this.idle.touch()
    const status = native.write(this.id, chunk)
    if (status === WRITE_GONE) return callback(brokenPipe())
    if (status === WRITE_FULL) this.pendingWrite = callback
    else callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.gone) native.end(this.id)
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.idle.clear()
    if (!this.gone) {
      this.gone = true
      native.abort(this.id)
    }
    this.release(this)
    callback(error)
  }

  /** Emits 'timeout' after `ms` without bytes either way. */
  setTimeout(ms: number, onTimeout?: () => void): this {
    this.idle.set(ms, onTimeout, !this.destroyed)
    return this
  }
}

addSocketKnobs(UpgradedSocket.prototype)
