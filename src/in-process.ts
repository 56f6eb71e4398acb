// ugn in one process: the Rust engine on this process's own event loop, with no master and no
// workers. `createServer` mirrors `http.createServer`, so code written against node:http (a
// framework's test suite with supertest, a tool embedding a server) runs on ugn's engine and
// adapters unchanged. Deployments use the CLI's pre-fork model, with its signals, heartbeats
// and restarts; this is for tests, tools and embedding.

import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'

import { nodeApp } from './adapters/node.js'
import { createDispatcher, type Dispatcher } from './bridge/dispatcher.js'
import type { ServerAddress } from './bridge/environ.js'
import type { App } from './bridge/exchange.js'
import { FileWrapper } from './bridge/file-wrapper.js'
import { defaults, engineOptions, engineTrust, settings } from './config/settings.js'
import { type ListenerInfo, native, NO_TLS } from './native.js'

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/** How often a stopped server's engine checks whether its connections are gone. */
const DRAIN_POLL_MS = 50

/** The engine shared by every in-process server: one per thread, started with the first
 * listener and stopped once the last one has closed and its connections are gone. */
interface Engine {
  dispatcher: Dispatcher
  apps: App[]
  servers: ServerAddress[]
  open: number
}

let engine: Engine | undefined

function startEngine(): Engine {
  const apps: App[] = []
  const servers: ServerAddress[] = []
  const fields = settings.limit_request_fields.default()
  const dispatcher = createDispatcher(apps, fields, { servers, multiprocess: false, fileWrapper: FileWrapper })
  const cfg = defaults()
  const options = engineOptions(cfg, fields)
  native.serverStart(new Int32Array(0), options, 'ugn', dispatcher.reqMeta, dispatcher.resMeta, dispatcher.onRequest, dispatcher.onEvent, ...engineTrust(cfg), ...NO_TLS)
  return { dispatcher, apps, servers, open: 0 }
}

/** Lets the process exit once nothing is served: the engine's loop handles keep it alive. */
function stopWhenIdle(): void {
  const check = setInterval(() => {
    const current = engine
    if (current === undefined || current.open > 0) return clearInterval(check)
    if (native.serverConnections() > 0 || current.dispatcher.inFlight() > 0) return
    clearInterval(check)
    native.serverStop()
    engine = undefined
  }, DRAIN_POLL_MS)
  check.unref()
}

export interface AddressInfo {
  address: string
  family: 'IPv4' | 'IPv6'
  port: number
}

function bindSpec(port: unknown, host: unknown): string {
  if (typeof port === 'string' && !/^\d+$/.test(port)) return `unix:${port}`
  const name = typeof host === 'string' && host !== '' ? host : '127.0.0.1'
  const number = port === undefined || port === null ? 0 : Number(port)
  return name.includes(':') ? `[${name}]:${number}` : `${name}:${number}`
}

/** crates/ugn-process names bind failures in Gunicorn's words; node:http callers test codes. */
function withBindCode(error: Error): Error {
  const code = /^Connection in use/.test(error.message) ? 'EADDRINUSE' : /^Invalid address/.test(error.message) ? 'EADDRNOTAVAIL' : undefined
  return code === undefined ? error : Object.assign(error, { code })
}

/** What `server.address()` says for a listener's URL: a path for a Unix socket. */
function boundAddress(url: string): AddressInfo | string {
  if (url.startsWith('unix:')) return url.slice('unix:'.length)
  const { hostname, port } = new URL(url)
  const address = hostname.replace(/^\[|\]$/g, '')
  return { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port: Number(port) }
}

export class Server extends EventEmitter {
  listening = false
  private index = -1
  private bound: AddressInfo | string | undefined

  constructor(listener?: RequestListener) {
    super()
    if (listener) this.on('request', listener)
  }

  /**
   * `listen(port?, host?, backlog?, callback?)`, `listen(path, callback?)` or
   * `listen({ port, host, path, backlog }, callback?)`. Without a host it listens on 127.0.0.1,
   * not on every interface as node:http does. Binding is synchronous, as tools like supertest
   * expect: `address()` works as soon as `listen` returns.
   */
  listen(...args: unknown[]): this {
    const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined
    let [port, host, backlog] = args
    if (port !== null && typeof port === 'object') {
      const options = port as { port?: number; host?: string; path?: string; backlog?: number }
      ;[port, host, backlog] = [options.path ?? options.port, options.host, options.backlog]
    }
    if (this.listening) throw Object.assign(new Error('Listen method has been called more than once without closing.'), { code: 'ERR_SERVER_ALREADY_LISTEN' })
    let info: ListenerInfo
    try {
      ;[info] = native.bindListeners([bindSpec(port, host)], typeof backlog === 'number' ? backlog : settings.backlog.default(), false, 0o22)
    } catch (err) {
      // As node:http: a bind failure is an 'error' event, with the errno code callers test.
      process.nextTick(() => this.emit('error', withBindCode(err as Error)))
      return this
    }
    engine ??= startEngine()
    const app = nodeApp((req, res) => this.emit('request', req, res), this)
    this.index = native.serverAddListener(info.fd)
    this.bound = boundAddress(info.url)
    engine.apps[this.index] = app
    engine.servers[this.index] = typeof this.bound === 'string' ? { name: this.bound, port: '' } : { name: this.bound.address, port: String(this.bound.port) }
    engine.open++
    this.listening = true
    if (callback) this.once('listening', callback)
    process.nextTick(() => this.emit('listening'))
    return this
  }

  /** node:http servers have a handle while they listen; tools such as supertest close only
   * servers that have one, and an unclosed server keeps the process alive. */
  get _handle(): this | null {
    return this.listening ? this : null
  }

  address(): AddressInfo | string | null {
    return this.listening ? (this.bound ?? null) : null
  }

  /** Stops accepting; connections already open finish on their own, as with node:http. */
  close(callback?: (err?: Error) => void): this {
    if (!this.listening) {
      const error = Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' })
      if (callback) process.nextTick(callback, error)
      return this
    }
    this.listening = false
    native.serverRemoveListener(this.index)
    const current = engine as Engine
    if (--current.open === 0) stopWhenIdle()
    if (callback) this.once('close', callback)
    process.nextTick(() => this.emit('close'))
    return this
  }

  /** The engine closes idle keep-alive connections after --keep-alive seconds itself. */
  setTimeout(): this {
    return this
  }
}

/** `http.createServer` for ugn's engine in this process: see the file comment. */
export function createServer(optionsOrListener?: unknown, listener?: RequestListener): Server {
  return new Server(typeof optionsOrListener === 'function' ? (optionsOrListener as RequestListener) : listener)
}
