// One request's trip through the app: calls `app(environ, startResponse)` and sends what it
// returns (see docs/SPEC.md for every accepted return type) to the Rust engine, with
// backpressure for streamed bodies.

import { Readable } from 'node:stream'

import { describe, log } from '../log.js'
import { native, WRITE_FULL, WRITE_GONE } from '../native.js'
import type { Environ } from './environ.js'
import { FileWrapper } from './file-wrapper.js'
import { RequestBodyError, type RequestInput } from './input.js'
import { UpgradedSocket } from './upgraded-socket.js'

export type Chunk = string | Uint8Array
export type HeaderList = ReadonlyArray<readonly [string, string | number]> | Record<string, string | number>
export type Write = (chunk: Chunk) => void
export type StartResponse = (status: string, headers: HeaderList, excInfo?: unknown) => Write
export type Body =
  | Chunk
  | Iterable<Chunk>
  | AsyncIterable<Chunk>
  | Readable
  | FileWrapper
  | null
  | undefined
export type App = (environ: Environ, startResponse: StartResponse) => Body | Promise<Body>
/** Told once whether the response went out whole (`true`) or not (client gone, app failed). */
export type CloseListener = (completed: boolean) => void

/** What receives a connection's events: the exchange of its request, or once the connection
 * is upgraded, its socket. */
export interface ConnectionReceiver {
  readonly id: number
  onBody(chunk: Buffer): void
  onBodyEnd(trailerLines?: string): void
  onBodyError(): void
  onDrain(): void
  onClosed(): void
}

/** What the exchange needs from its worker: the shared response metadata array, a way to
 * be told about its connection's events, and a way to say it is over. */
export interface ExchangeHost {
  resMeta: Int32Array
  track(id: number, receiver: ConnectionReceiver): void
  /** The response is complete, failed or abandoned: the exchange needs no more events. */
  settle(exchange: Exchange): void
  /** An upgraded connection is over. */
  release(receiver: ConnectionReceiver): void
}

const INTERNAL_ERROR = '500 Internal Server Error'

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function'
}

/** How log lines name a request: its method and target as sent, `GET /path?query`. */
export function requestLine(environ: Environ): string {
  return `${environ.REQUEST_METHOD} ${environ.RAW_URI}`
}

/** Links an environ to its exchange, for `environ['ugn.on_close']` and `environ['ugn.abort']`. */
const EXCHANGE = Symbol('ugn.exchange')

function exchangeOf(environ: Environ | undefined, key: string): Exchange {
  const exchange = environ?.[EXCHANGE as unknown as string] as Exchange | undefined
  if (exchange === undefined) throw new TypeError(`call environ['${key}'] as a method of the environ`)
  return exchange
}

/** `environ['ugn.on_close'](listener)`, shared by every environ: it must be called as a method. */
export function onClose(this: Environ | undefined, listener: CloseListener): void {
  if (typeof listener !== 'function') throw new TypeError('the close listener must be a function')
  exchangeOf(this, 'ugn.on_close').onClose(listener)
}

/** `environ['ugn.abort']()`: drops the connection unanswered, or cuts the response short. */
export function abortRequest(this: Environ | undefined): void {
  exchangeOf(this, 'ugn.abort').abort()
}

/** `environ['ugn.early_hints'](headers)`: a 103 Early Hints response ahead of the final one. */
export function earlyHints(this: Environ | undefined, headers: HeaderList): void {
  exchangeOf(this, 'ugn.early_hints').earlyHints(headers)
}

/** `environ['ugn.upgrade']()`, present on a request that asks for an upgrade: the connection
 * leaves HTTP and becomes the returned socket. */
export function upgradeConnection(this: Environ | undefined): UpgradedSocket {
  return exchangeOf(this, 'ugn.upgrade').upgrade()
}

export class Exchange implements ConnectionReceiver {
  private status: string | undefined
  private headers: HeaderList | undefined
  /** Body bytes handed to the engine by write() and streams. */
  private sent = 0
  /** A body sent whole in one call, measured only if asked (by the access log). */
  private whole: Chunk | undefined
  /** performance.now() when the request arrived; set only when something measures it. */
  startTime = 0
  private started = false
  private finished = false
  private gone = false
  private drainWaiter: (() => void) | undefined
  private closeListeners: CloseListener[] | undefined
  private outcome: boolean | undefined
  readonly startResponse: StartResponse

  constructor(
    readonly id: number,
    readonly environ: Environ,
    private readonly host: ExchangeHost,
  ) {
    environ[EXCHANGE as unknown as string] = this
    this.startResponse = (status, headers, excInfo) => {
      if (excInfo !== undefined && excInfo !== null) {
        if (this.started) throw excInfo
      } else if (this.status !== undefined) {
        throw new Error('startResponse was already called; pass excInfo to replace the response after an error')
      }
      if (typeof status !== 'string') throw new TypeError(`the status must be a string like "200 OK", not ${typeof status}`)
      this.status = status
      this.headers = headers
      return this.writeCallable
    }
  }

  run(app: App): void {
    let result: Body | Promise<Body>
    try {
      result = app(this.environ, this.startResponse)
    } catch (err) {
      this.fail(err)
      return
    }
    if (isPromiseLike(result)) {
      this.host.track(this.id, this)
      result.then(
        (body) => this.send(body),
        (err) => this.fail(err),
      )
      return
    }
    this.send(result)
  }

  /** The status line sent, or about to be sent. */
  get statusLine(): string | undefined {
    return this.status
  }

  /** The headers given to startResponse. */
  get responseHeaders(): HeaderList | undefined {
    return this.headers
  }

  /** Body bytes handed to the engine so far. */
  get bodyBytes(): number {
    return this.whole === undefined ? this.sent : this.sent + byteLength(this.whole)
  }

  /** The client went away: stop producing, release the body reader. */
  closed(): void {
    const wasFinished = this.finished
    this.gone = true
    this.finished = true
    if (!wasFinished) this.settle(false)
    this.input.fail(new Error('the client closed the connection'))
    this.wakeDrain()
  }

  /** The app gives up on the request: the connection is closed without (more) response. A
   * complete response is left alone, since the connection now serves the next request. */
  abort(): void {
    if (this.finished) return
    native.abort(this.id)
    this.closed()
  }

  onDrain(): void {
    this.wakeDrain()
  }

  onClosed(): void {
    this.closed()
  }

  onBody(chunk: Buffer): void {
    this.input.push(chunk)
  }

  onBodyEnd(trailerLines?: string): void {
    this.input.end(trailerLines)
  }

  onBodyError(): void {
    this.input.fail(new RequestBodyError('the request body is malformed or was cut short'))
  }

  /** Sends 103 Early Hints with `headers` (typically `Link` fields), before the response
   * starts; ignored for an HTTP/1.0 client, which may not be sent one. */
  earlyHints(headers: HeaderList): void {
    if (this.started || this.finished) throw new Error('early hints must come before the response starts')
    if (this.gone) return
    const count = this.pack('103 Early Hints', headers)
    native.inform(this.id, this.packed, count)
  }

  /** Hands the connection over as a raw socket; the response is then the app's to write on
   * it (a WebSocket handshake's 101, for one), and whatever the app returns is ignored. */
  upgrade(): UpgradedSocket {
    if (this.started || this.finished) throw new Error('the response has started: the connection can no longer be taken over')
    native.detach(this.id)
    const socket = new UpgradedSocket(this.id, this.environ, (s) => this.host.release(s))
    this.host.track(this.id, socket)
    this.upgraded = true
    this.status = '101 Switching Protocols'
    this.started = true
    this.finished = true
    this.settle(true)
    return socket
  }

  private upgraded = false

  get input(): RequestInput {
    return this.environ['ugn.input']
  }

  /** A write() that came too late was logged: later ones are dropped quietly. */
  private lateWrite = false

  private readonly writeCallable: Write = (chunk) => {
    if (this.finished) {
      // Writes to a client that went away are dropped (docs/SPEC.md). A write after the end is
      // a bug in the app, often in a timer or an event handler where a throw would kill the
      // worker with every request in it: it is logged once and dropped instead.
      if (this.gone || this.lateWrite) return
      this.lateWrite = true
      const err = new Error('write() was called after the response was complete; the chunk was dropped')
      log.error(`Error handling request ${requestLine(this.environ)} after its response ended\n${describe(err)}`)
      return
    }
    this.emit(chunk, false)
  }

  private send(body: Body): void {
    try {
      if (this.gone || this.upgraded) return closeBody(body)
      if (typeof body === 'string' || body instanceof Uint8Array) return this.complete(body)
      if (body === null || body === undefined) return this.complete('')
      if (Array.isArray(body)) return this.complete(joinChunks(body as Chunk[]))
      if (body instanceof FileWrapper) return void this.stream(body.toReadable(), body)
      if (typeof (body as AsyncIterable<Chunk>)[Symbol.asyncIterator] === 'function') {
        return void this.stream(body as AsyncIterable<Chunk>, body)
      }
      if (typeof (body as Iterable<Chunk>)[Symbol.iterator] === 'function') {
        return void this.stream(body as Iterable<Chunk>, body)
      }
      throw new TypeError(`the app returned ${Object.prototype.toString.call(body)}, which is not a response body (see docs/SPEC.md)`)
    } catch (err) {
      this.fail(err)
    }
  }

  /** The whole body is known: one call carries status, headers and body. */
  private complete(body: Chunk): void {
    this.requireStatus()
    if (this.started) {
      this.emit(body, false)
      this.finish()
      return
    }
    const count = this.packHead()
    // respond throws on an invalid status or header, before anything is sent.
    native.respond(this.id, this.packed, count, body, true)
    this.whole = body
    this.started = true
    this.finished = true
    this.settle(true)
  }

  private async stream(chunks: Iterable<Chunk> | AsyncIterable<Chunk>, owner: unknown): Promise<void> {
    this.host.track(this.id, this)
    try {
      for await (const chunk of chunks as AsyncIterable<Chunk>) {
        if (this.gone) break
        if (chunk.length === 0) continue
        if (this.emit(chunk, true) === WRITE_FULL) await new Promise<void>((resolve) => (this.drainWaiter = resolve))
      }
      if (!this.gone) this.finish(trailersOf(owner))
    } catch (err) {
      this.fail(err)
    } finally {
      if (this.gone && owner instanceof Readable) owner.destroy()
      closeBody(owner)
    }
  }

  private emit(chunk: Chunk, canWait: boolean): number {
    let status: number
    if (!this.started) {
      this.requireStatus()
      const count = this.packHead()
      status = native.respond(this.id, this.packed, count, chunk, false)
      this.started = true
    } else {
      status = native.write(this.id, chunk)
    }
    if (status === WRITE_GONE) this.closed()
    else this.sent += byteLength(chunk)
    return canWait ? status : 0
  }

  /** `trailers`: the streamed body's trailer fields (docs/SPEC.md), sent when it is chunked. */
  private finish(trailers?: HeaderList): void {
    if (this.finished) return
    if (!this.started) return this.complete('')
    const count = trailers === undefined ? 0 : this.pack('', trailers)
    // Throws on an invalid trailer, before the response is marked complete.
    if (count > 0) native.end(this.id, this.packed, count)
    else native.end(this.id)
    this.finished = true
    this.settle(true)
  }

  private fail(err: unknown): void {
    if (this.gone) return
    const line = requestLine(this.environ)
    if (this.finished) {
      // The response is complete and the connection may carry the next request already:
      // nothing to cut short, and the request must not be counted as ended twice.
      log.error(`Error handling request ${line} after its response ended\n${describe(err)}`)
      return
    }
    if (!this.started) {
      log.error(`Error handling request ${line}\n${describe(err)}`)
      this.status = INTERNAL_ERROR
      this.headers = [['Content-Type', 'text/plain']]
      this.finished = false
      try {
        this.complete('Internal Server Error\n')
      } catch (second) {
        log.error(`Cannot send the error response for ${line}: ${describe(second)}`)
        native.abort(this.id)
      }
      return
    }
    log.error(`Error handling request ${line} after its response started; closing the connection\n${describe(err)}`)
    this.finished = true
    this.settle(false)
    native.abort(this.id)
  }

  onClose(listener: CloseListener): void {
    const outcome = this.outcome
    if (outcome !== undefined) queueMicrotask(() => listener(outcome))
    else (this.closeListeners ??= []).push(listener)
  }

  private settle(completed: boolean): void {
    this.outcome = completed
    this.host.settle(this)
    const listeners = this.closeListeners
    if (listeners === undefined) return
    this.closeListeners = undefined
    for (const listener of listeners) {
      try {
        listener(completed)
      } catch (err) {
        log.error(`Error in a close listener of ${requestLine(this.environ)}: ${describe(err)}`)
      }
    }
  }

  private packed = ''

  /** A streamed body may call startResponse while it is iterated, up to its first chunk. */
  private requireStatus(): void {
    if (this.status === undefined) throw new Error('the app did not call startResponse before its body began')
  }

  private packHead(): number {
    return this.pack(this.status as string, this.headers as HeaderList)
  }

  /** Lays a status and fields out as one string plus lengths in the shared array. */
  private pack(status: string, fields: HeaderList): number {
    const meta = this.host.resMeta
    let text = status
    meta[0] = status.length
    let count = 0
    const add = (name: string, value: string | number) => {
      const v = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : badValue(name, value)
      if (1 + 2 * (count + 1) > meta.length) throw new Error(`too many response headers (the limit is ${(meta.length - 1) / 2})`)
      meta[1 + 2 * count] = name.length
      meta[2 + 2 * count] = v.length
      text += name + v
      count++
    }
    if (Array.isArray(fields)) {
      for (const pair of fields) add(String(pair[0]), pair[1])
    } else if (fields !== null && typeof fields === 'object') {
      for (const name of Object.keys(fields)) add(name, (fields as Record<string, string | number>)[name])
    } else {
      throw new TypeError(`the headers must be an array of [name, value] pairs or an object, not ${typeName(fields)}`)
    }
    this.packed = text
    return count
  }

  private wakeDrain(): void {
    const waiter = this.drainWaiter
    this.drainWaiter = undefined
    waiter?.()
  }
}

function typeName(value: unknown): string {
  return value === null ? 'null' : typeof value
}

/** A header value must be a string or a number (docs/SPEC.md): `undefined` or an object would
 * otherwise go out as the text `undefined` or `[object Object]`. */
function badValue(name: string, value: unknown): never {
  throw new TypeError(`the value of response header "${name}" must be a string or a number, not ${typeName(value)}`)
}

function byteLength(chunk: Chunk): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength
}

function joinChunks(chunks: Chunk[]): Chunk {
  if (chunks.length === 0) return ''
  if (chunks.length === 1) return chunks[0]
  let allStrings = true
  for (const c of chunks) if (typeof c !== 'string') allStrings = false
  if (allStrings) return chunks.join('')
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)))
}

/** A streamed body's `trailers`: a header list, or a function returning one once the last
 * chunk is out. */
function trailersOf(body: unknown): HeaderList | undefined {
  const trailers = (body as { trailers?: unknown } | null)?.trailers
  if (trailers === undefined || trailers === null) return undefined
  return (typeof trailers === 'function' ? (trailers as () => HeaderList).call(body) : trailers) as HeaderList
}

/** WSGI's rule: the server calls the body's close() when it is done with it, whatever happened. */
function closeBody(body: unknown): void {
  const close = (body as { close?: unknown } | null | undefined)?.close
  if (typeof close !== 'function' || body instanceof Readable) return
  try {
    ;(close as () => void).call(body)
  } catch (err) {
    log.error(`Error closing the response body: ${describe(err)}`)
  }
}
