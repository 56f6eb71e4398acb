// The node interface: serves a Node `(req, res)` handler (Express, Koa's callback, Fastify's
// routing, a plain handler) through the native interface. `req` is a real
// http.IncomingMessage and `res` a real http.ServerResponse, so frameworks that swap
// prototypes (Express) or test `instanceof` keep working. Only what would touch a socket is
// replaced, with own properties that survive a prototype swap: the request body is pulled
// from `ugn.input`, and status, headers and body go to the exchange.

import type { EventEmitter } from 'node:events'
import { IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'

import type { Environ } from '../bridge/environ.js'
import { type App, type Body, type Chunk, requestLine, type StartResponse, type Write } from '../bridge/exchange.js'
import type { RequestInput } from '../bridge/input.js'
import { describe, log } from '../log.js'
import { BridgeSocket } from './node-socket.js'
import { forEachRequestHeader } from './request-headers.js'

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown

/** Above this many bytes waiting for the client, `res.write` returns false until 'drain'. */
const HIGH_WATER = 16 * 1024

const OUTLET = Symbol('ugn.outlet')
const INPUT = Symbol('ugn.input')

type Callback = (error?: Error | null) => void

interface BridgeRequest extends IncomingMessage {
  [INPUT]: RequestInput
  _consuming: boolean
  _readableState: { readingMore: boolean }
  _read(size: number): void
  _destroy(error: Error | null, callback: Callback): void
}

interface BridgeResponse extends ServerResponse {
  [OUTLET]: Outlet
  _header: string | null
}

function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code })
}

/** The response side of one request: turns `res` calls into the native interface's
 * startResponse and body. A response ended before the handler returns becomes one whole
 * body (sent with Content-Length, in one call); anything else streams. */
class Outlet implements AsyncIterator<Chunk> {
  private writeNow: Write | undefined
  private ended = false
  private handedOver = false
  private needDrain = false
  private queue: Chunk[] = []
  private queued = 0
  private callbacks: Callback[] = []
  private waiter: { resolve(result: IteratorResult<Chunk>): void; reject(error: unknown): void } | undefined
  private failure: unknown
  private trailerFields: [string, string][] | undefined
  private settleBody: { resolve(body: Body): void; reject(error: unknown): void } | undefined

  constructor(
    private readonly res: BridgeResponse,
    private readonly socket: BridgeSocket,
    private readonly startResponse: StartResponse,
    readonly environ: Environ,
  ) {}

  get isEnded(): boolean {
    return this.ended
  }

  /** What the app returns to the exchange once the handler has returned. */
  body(): Body | Promise<Body> {
    // The response was destroyed with an error before the handler returned: nothing went out.
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.ended && !this.handedOver) return this.whole() ?? this.stream()
    if (this.queue.length > 0) return this.stream()
    return new Promise<Body>((resolve, reject) => (this.settleBody = { resolve, reject }))
  }

  /** Status and headers go to the exchange; from now on `res.headersSent` is true. */
  sendHead(): void {
    if (this.res._header !== null) return
    const res = this.res
    const code = res.statusCode
    if (!Number.isInteger(code) || code < 100 || code > 999) {
      throw codedError(`Invalid status code: ${code}`, 'ERR_HTTP_INVALID_STATUS_CODE')
    }
    const headers: [string, string][] = []
    for (const name of (res as unknown as { getRawHeaderNames(): string[] }).getRawHeaderNames()) {
      const value = res.getHeader(name)
      if (Array.isArray(value)) for (const item of value) headers.push([name, String(item)])
      else if (value !== undefined) headers.push([name, String(value)])
    }
    const status = `${code} ${res.statusMessage || STATUS_CODES[code] || 'Unknown'}`
    this.writeNow = this.startResponse(status, headers)
    res._header = status
  }

  /** `res.flushHeaders()`: the head leaves now, before any body (server-sent events). */
  flushHead(): void {
    this.sendHead()
    // An empty chunk through startResponse's write starts the response at once.
    if (!this.ended) (this.writeNow as Write)('')
  }

  write(chunk: Chunk, callback: Callback | undefined): boolean {
    if (this.ended) {
      const error = codedError('write after end', 'ERR_STREAM_WRITE_AFTER_END')
      process.nextTick(() => {
        callback?.(error)
        if (this.res.listenerCount('error') > 0) this.res.emit('error', error)
        else log.error(`Error handling request ${requestLine(this.environ)} after its response ended\n${describe(error)}`)
      })
      return false
    }
    this.sendHead()
    this.socket.touch()
    if (callback) this.callbacks.push(callback)
    if (chunk.length > 0) {
      this.queue.push(chunk)
      this.queued += chunk.length
    }
    this.takeStream()
    this.wake()
    if (this.queued < HIGH_WATER) return true
    this.needDrain = true
    return false
  }

  end(chunk: Chunk | undefined, callback: Callback | undefined): void {
    if (this.ended) {
      if (callback) process.nextTick(callback)
      return
    }
    if (chunk !== undefined && chunk.length > 0) {
      this.queue.push(chunk)
      this.queued += chunk.length
    }
    this.sendHead()
    this.ended = true
    this.res.finished = true
    if (callback) this.res.once('finish', callback)
    this.res.emit('prefinish')
    if (this.settleBody !== undefined) {
      const { resolve } = this.settleBody
      this.settleBody = undefined
      resolve(this.whole() ?? this.stream())
    }
    this.wake()
  }

  /** `res.addTrailers(headers)`: fields sent after a chunked body (Node drops them otherwise). */
  addTrailers(headers: unknown): void {
    const pairs = Array.isArray(headers) ? (headers as [string, unknown][]) : Object.entries(headers as Record<string, unknown>)
    for (const [name, value] of pairs) (this.trailerFields ??= []).push([String(name), String(value)])
  }

  /** Read by the exchange when the streamed body ends. */
  get trailers(): [string, string][] | undefined {
    return this.trailerFields
  }

  /** The handler failed, or destroyed its response with an error: before the head, the
   * exchange answers 500; after, it cuts the response short; after the end, there is nothing
   * left to spoil and it is only logged. */
  fail(error: unknown): void {
    if (this.settleBody !== undefined) {
      const { reject } = this.settleBody
      this.settleBody = undefined
      reject(error)
    } else if (!this.ended) {
      this.failure = error
      this.wake()
    } else {
      log.error(`Error handling request ${requestLine(this.environ)} after its response ended\n${describe(error)}`)
    }
  }

  next(): Promise<IteratorResult<Chunk>> {
    if (this.queue.length > 0) {
      const chunk = this.queue.shift() as Chunk
      this.queued -= chunk.length
      if (this.queue.length === 0) this.flushed()
      return Promise.resolve({ value: chunk, done: false })
    }
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.ended) {
      this.flushed()
      return Promise.resolve({ value: undefined, done: true })
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }))
  }

  [Symbol.asyncIterator](): AsyncIterator<Chunk> {
    return this
  }

  /** The body in one piece, or undefined when it must stream: trailers need a chunked body,
   * as under node:http, where declaring a Trailer header makes the response chunked. */
  private whole(): Body | undefined {
    if (this.trailerFields !== undefined || this.res.hasHeader('trailer')) return undefined
    this.handedOver = true
    const chunks = this.queue
    this.queue = []
    this.queued = 0
    this.flushed()
    return chunks.length === 1 ? chunks[0] : chunks
  }

  private stream(): Body {
    this.handedOver = true
    return this
  }

  /** A pending body promise becomes a stream as soon as there is something to stream. */
  private takeStream(): void {
    if (this.settleBody === undefined) return
    const { resolve } = this.settleBody
    this.settleBody = undefined
    resolve(this.stream())
  }

  private wake(): void {
    const waiter = this.waiter
    if (waiter === undefined) return
    if (this.queue.length === 0 && !this.ended && this.failure === undefined) return
    this.waiter = undefined
    this.next().then(waiter.resolve, waiter.reject)
  }

  /** Every queued byte is with the exchange: write callbacks run, a blocked writer resumes. */
  private flushed(): void {
    const callbacks = this.callbacks
    if (callbacks.length > 0) {
      this.callbacks = []
      process.nextTick(() => {
        for (const callback of callbacks) callback()
      })
    }
    if (this.needDrain) {
      this.needDrain = false
      process.nextTick(() => this.res.emit('drain'))
    }
  }
}

function outletOf(res: ServerResponse): Outlet {
  return (res as BridgeResponse)[OUTLET]
}

function toChunk(chunk: unknown, encoding: unknown): Chunk {
  if (typeof chunk === 'string') {
    return typeof encoding === 'string' && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(chunk, encoding as BufferEncoding) : chunk
  }
  if (chunk instanceof Uint8Array) return chunk
  throw codedError(`The "chunk" argument must be of type string or an instance of Buffer or Uint8Array. Received ${typeof chunk}`, 'ERR_INVALID_ARG_TYPE')
}

// The replaced ServerResponse methods. They are shared functions, not per-request closures,
// and find their request's outlet through `this`.

function writeHead(this: ServerResponse, statusCode: number, reason?: unknown, headers?: unknown): ServerResponse {
  if (this.headersSent) throw codedError('Cannot write headers after they are sent to the client', 'ERR_HTTP_HEADERS_SENT')
  if (typeof reason === 'string') this.statusMessage = reason
  else headers = reason
  this.statusCode = statusCode
  if (Array.isArray(headers)) {
    if (headers.length % 2 !== 0) throw codedError('The headers array must hold names and values in turn', 'ERR_INVALID_ARG_VALUE')
    for (let i = 0; i < headers.length; i += 2) this.appendHeader(headers[i], headers[i + 1])
  } else if (headers !== null && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) this.setHeader(name, value)
  }
  outletOf(this).sendHead()
  return this
}

function write(this: ServerResponse, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  if (typeof encoding === 'function') callback = encoding
  return outletOf(this).write(toChunk(chunk, encoding), callback as Callback | undefined)
}

function end(this: ServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown): ServerResponse {
  if (typeof chunk === 'function') {
    callback = chunk
    chunk = undefined
  } else if (typeof encoding === 'function') {
    callback = encoding
  }
  const body = chunk === undefined || chunk === null ? undefined : toChunk(chunk, encoding)
  outletOf(this).end(body, callback as Callback | undefined)
  return this
}

/** `res.destroy(err)`, which `pipeline(source, res)` calls when the source fails: with an
 * error and a response not yet ended, the response fails as a failed body does (a 500 while
 * nothing was sent, else the connection closes with the body cut short, logged once).
 * Otherwise the connection closes, as under node:http. */
function destroy(this: ServerResponse, error?: Error): ServerResponse {
  if (this.destroyed) return this
  const outlet = outletOf(this)
  if (error === undefined || error === null || outlet.isEnded) return ServerResponse.prototype.destroy.call(this, error ?? undefined)
  this.destroyed = true
  outlet.fail(error)
  return this
}

function addTrailers(this: ServerResponse, headers: unknown): void {
  outletOf(this).addTrailers(headers)
}

function flushHeaders(this: ServerResponse): void {
  outletOf(this).flushHead()
}

/** The engine answers `Expect: 100-continue` itself, when the body is first read. */
/** node:http's `res.writeEarlyHints(hints, callback)`: a 103 with the hints as fields (an
 * array value gives one field per element), before the response starts. */
function writeEarlyHints(this: BridgeResponse, hints: Record<string, string | string[]>, callback?: () => void): void {
  const fields: [string, string][] = []
  for (const [name, value] of Object.entries(hints)) {
    for (const one of Array.isArray(value) ? value : [value]) fields.push([name, String(one)])
  }
  this[OUTLET].environ['ugn.early_hints'](fields)
  if (callback) process.nextTick(callback)
}

function writeContinue(this: ServerResponse, callback?: () => void): void {
  if (callback) process.nextTick(callback)
}

function readBody(this: BridgeRequest): void {
  if (!this._consuming) {
    // As Node's own IncomingMessage does on its first read: from now on the stream asks for data.
    this._readableState.readingMore = false
    this._consuming = true
  }
  this[INPUT].read().then(
    (chunk) => {
      if (chunk !== null) {
        this.push(chunk)
        return
      }
      takeTrailers(this)
      this.complete = true
      this.push(null)
    },
    (error: Error) => this.destroy(error),
  )
}

/** Node fills `req.trailers` and `req.rawTrailers` when the body ends. */
function takeTrailers(req: BridgeRequest): void {
  const fields = req[INPUT].trailers
  if (fields.length === 0) return
  const trailers: Record<string, string> = {}
  const raw: string[] = []
  for (const [name, value] of fields) {
    const key = name.toLowerCase()
    trailers[key] = key in trailers ? `${trailers[key]}, ${value}` : value
    raw.push(name, value)
  }
  req.trailers = trailers
  req.rawTrailers = raw
}

/** A request destroyed before its body ended was aborted: the connection goes too. */
function destroyRequest(this: BridgeRequest, error: Error | null, callback: Callback): void {
  if (!this.readableEnded || !this.complete) {
    this.aborted = true
    this.emit('aborted')
    const socket = this.socket as unknown as BridgeSocket
    if (!socket.destroyed) socket.destroy()
  }
  // Like Node, an 'error' nobody listens for is not raised: the client is gone, not the app.
  callback(error !== null && this.listenerCount('error') > 0 ? error : null)
}

function createRequest(environ: Environ, socket: BridgeSocket): BridgeRequest {
  const req = new IncomingMessage(socket as unknown as Socket) as BridgeRequest
  req.method = environ.REQUEST_METHOD
  req.url = environ.RAW_URI
  const [major, minor] = environ.SERVER_PROTOCOL === 'HTTP/2.0' ? [2, 0] : [1, environ.SERVER_PROTOCOL === 'HTTP/1.1' ? 1 : 0]
  req.httpVersionMajor = major
  req.httpVersionMinor = minor
  req.httpVersion = `${major}.${minor}`
  const headers: Record<string, string> = {}
  const rawHeaders: string[] = []
  forEachRequestHeader(environ, (name, value) => {
    headers[name] = value
    rawHeaders.push(name, value)
  })
  req.headers = headers
  req.rawHeaders = rawHeaders
  const input = environ['ugn.input']
  req[INPUT] = input
  req._read = readBody
  req._destroy = destroyRequest
  if (input.ended && input.readableLength === 0) {
    takeTrailers(req)
    req.complete = true
    req.push(null)
  }
  return req
}

function createResponse(req: IncomingMessage, socket: BridgeSocket, startResponse: StartResponse, environ: Environ): BridgeResponse {
  const res = new ServerResponse(req) as BridgeResponse
  res[OUTLET] = new Outlet(res, socket, startResponse, environ)
  Object.assign(res, { socket, writeHead, write, end, destroy, addTrailers, flushHeaders, writeContinue, writeEarlyHints })
  return res
}

/** Node's events at the end of an exchange: 'finish' then 'close' on the response when it
 * went out whole; otherwise the socket closes and the request is aborted, then 'close'. */
function closeExchange(req: BridgeRequest, res: BridgeResponse, socket: BridgeSocket, completed: boolean): void {
  socket.setTimeout(0)
  if (completed) {
    socket.responseComplete = true
    res.emit('finish')
    // An unread body is discarded, so the request still ends and closes as under node:http.
    if (!req.readableEnded) req.resume()
  } else {
    socket.closed()
    if (!req.destroyed) req.destroy()
  }
  res.destroyed = !completed
  res.emit('close')
}

/** What 'upgrade' events go to: the server object the app built (an http.Server, or an
 * in-process ugn Server), whose 'upgrade' listeners take requests that ask for an upgrade. */
export type UpgradeTarget = Pick<EventEmitter, 'emit' | 'listenerCount'>

/** As node:http does: a request asking for an upgrade goes to the server's 'upgrade' listeners
 * with the raw socket (and the bytes already read past the head, which here come later as
 * data: `head` is empty); without listeners it is an ordinary request. */
function upgrade(environ: Environ, target: UpgradeTarget): boolean {
  const take = environ['ugn.upgrade']
  if (take === undefined || target.listenerCount('upgrade') === 0) return false
  const socket = take.call(environ)
  const req = createRequest(environ, socket as unknown as BridgeSocket)
  target.emit('upgrade', req, socket, Buffer.alloc(0))
  return true
}

export function nodeApp(handler: NodeHandler, upgradeTarget?: UpgradeTarget): App {
  return (environ, startResponse) => {
    if (upgradeTarget !== undefined && upgrade(environ, upgradeTarget)) return undefined
    const socket = new BridgeSocket(environ)
    const req = createRequest(environ, socket)
    const res = createResponse(req, socket, startResponse, environ)
    const outlet = res[OUTLET]
    environ['ugn.on_close']((completed) => closeExchange(req, res, socket, completed))
    let result: unknown
    try {
      result = handler(req, res)
    } catch (err) {
      if (!outlet.isEnded) throw err
      log.error(`Error handling request ${requestLine(environ)} after its response ended\n${describe(err)}`)
    }
    // Under node:http a rejected handler promise is an unhandled rejection; here it fails
    // only its own request.
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
      ;(result as PromiseLike<unknown>).then(undefined, (err: unknown) => outlet.fail(err))
    }
    return outlet.body()
  }
}
