// The access log: one line per request in Gunicorn's format language (`%(h)s`, `%({name}i)s`,
// ...), so parsers written for Gunicorn's lines read ugn's. Lines wait in memory and leave in
// batches, so a request never waits for a write (see docs/ARCHITECTURE.md, "The access log").

import { closeSync, openSync, write, writeSync } from 'node:fs'

import { cgiKey, type Environ } from './bridge/environ.js'
import type { HeaderList } from './bridge/exchange.js'
import { describe, log, pad, utcOffset } from './log.js'

export const DEFAULT_ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

/** What the access log needs from a finished request; an Exchange provides it. */
export interface AccessEntry {
  readonly environ: Environ
  /** The status the app gave startResponse; undefined if it never did. */
  readonly statusLine: string | undefined
  readonly responseHeaders: HeaderList | undefined
  /** Body bytes handed to the engine (which sends none for HEAD, 1xx, 204 and 304). */
  readonly bodyBytes: number
  /** performance.now() when the request reached JavaScript, if the format is timed. */
  readonly startTime: number
}

export interface AccessFormat {
  /** The entry's line, without the newline. */
  line(entry: AccessEntry): string
  /** Whether lines need the entry's startTime: the format has T, M, D or L. */
  readonly timed: boolean
}

type Atom = (entry: AccessEntry, micros: number) => string

/** Gunicorn escapes `"` so a quoted field cannot be closed early; control characters are
 * escaped too (Gunicorn writes them raw), so a value cannot start a forged line. */
function safe(value: unknown): string {
  if (value === undefined || value === null) return '-'
  const text = typeof value === 'string' ? value : String(value)
  if (!UNSAFE.test(text)) return text
  return text.replace(UNSAFE_ALL, (c) => (c === '"' ? '\\"' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))
}
const UNSAFE = /["\x00-\x1f\x7f]/
const UNSAFE_ALL = /["\x00-\x1f\x7f]/g

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The user name of Basic credentials, as Gunicorn reads it (lenient base64, strict UTF-8). */
function basicUser(authorization: unknown): string | undefined {
  if (typeof authorization !== 'string' || !/^basic/i.test(authorization)) return undefined
  const space = authorization.indexOf(' ')
  if (space === -1) return undefined
  const decoded = Buffer.from(authorization.slice(space + 1).trim(), 'base64')
  const colon = decoded.indexOf(0x3a)
  try {
    return utf8.decode(colon === -1 ? decoded : decoded.subarray(0, colon)) || undefined
  } catch {
    return undefined
  }
}

function statusCode(entry: AccessEntry): string | undefined {
  const line = entry.statusLine
  if (line === undefined) return undefined
  const space = line.indexOf(' ')
  return space === -1 ? line : line.slice(0, space)
}

/** The body bytes that went out: none for the responses HTTP sends without a body. */
function bytesSent(entry: AccessEntry): number {
  const status = entry.statusLine ?? ''
  const bodiless = entry.environ.REQUEST_METHOD === 'HEAD' || status.startsWith('1') || status.startsWith('204') || status.startsWith('304')
  return bodiless ? 0 : entry.bodyBytes
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

// Lines of one second share one formatted date.
let clockSecond = -1
let clockText = ''

/** The time of logging in Apache's Common Log Format: `[10/Oct/2000:13:55:36 -0700]`. */
function now(): string {
  const ms = Date.now()
  const second = Math.floor(ms / 1000)
  if (second !== clockSecond) {
    const d = new Date(ms)
    clockSecond = second
    clockText =
      `[${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${utcOffset(d)}]`
  }
  return clockText
}

const ATOMS: Record<string, Atom> = {
  // A Unix socket has no peer address; '-' keeps the first field non-empty for parsers.
  h: (e) => safe(e.environ.REMOTE_ADDR || '-'),
  l: () => '-',
  u: (e) => safe(basicUser(e.environ.HTTP_AUTHORIZATION)),
  t: now,
  r: (e) => `${safe(e.environ.REQUEST_METHOD)} ${safe(e.environ.RAW_URI)} ${safe(e.environ.SERVER_PROTOCOL)}`,
  m: (e) => safe(e.environ.REQUEST_METHOD),
  U: (e) => safe(e.environ.PATH_INFO),
  q: (e) => safe(e.environ.QUERY_STRING),
  H: (e) => safe(e.environ.SERVER_PROTOCOL),
  s: (e) => safe(statusCode(e)),
  B: (e) => String(bytesSent(e)),
  b: (e) => (e.statusLine === undefined ? '-' : String(bytesSent(e))),
  f: (e) => safe(e.environ.HTTP_REFERER),
  a: (e) => safe(e.environ.HTTP_USER_AGENT),
  T: (_, us) => String(Math.floor(us / 1e6)),
  M: (_, us) => String(Math.floor(us / 1e3)),
  D: (_, us) => String(us),
  L: (_, us) => `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`,
  p: () => `<${process.pid}>`,
}
const TIMING = new Set(['T', 'M', 'D', 'L'])

/** A request header, read from the environ where the engine put it. Gunicorn drops header
 * names containing `_`, and so does ugn, so such a name never matches. */
function requestHeader(name: string): Atom {
  if (name.includes('_')) return () => '-'
  const key = cgiKey(name)
  return (e) => safe(e.environ[key])
}

/** A request header's raw value from the environ, or null; `_` in a name never matches. */
function rawRequestHeader(environ: Environ, name: string): unknown {
  return name.includes('_') ? null : (environ[cgiKey(name)] ?? null)
}

function rawResponseHeader(headers: HeaderList | undefined, name: string): string | number | null {
  if (headers === undefined) return null
  let found: string | number | null = null
  if (Array.isArray(headers)) {
    for (const [key, value] of headers) if (key.toLowerCase() === name) found = value
  } else {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name) found = (headers as Record<string, string | number>)[key]
  }
  return found
}

function rawEnviron(environ: Environ, name: string): unknown {
  let found: unknown = null
  for (const key in environ) if (key.toLowerCase() === name) found = environ[key]
  return found
}

/** A response header as the app gave it; the last one wins if it is repeated, as in Gunicorn. */
function responseHeader(name: string): Atom {
  return (e) => safe(rawResponseHeader(e.responseHeaders, name))
}

/** An environ key, named in any case (Gunicorn lower-cases both sides). */
function environVariable(name: string): Atom {
  return (e) => safe(rawEnviron(e.environ, name))
}

function atomFor(key: string): Atom {
  const named = /^\{(.*)\}([ioe])$/.exec(key.toLowerCase())
  if (named === null) return ATOMS[key] ?? (() => '-')
  const [, name, kind] = named
  return kind === 'i' ? requestHeader(name) : kind === 'o' ? responseHeader(name) : environVariable(name)
}

/** Python's `%(key)s`, also with `d` or `i` as Gunicorn configs sometimes write for numbers;
 * `%%` is a percent sign. */
const DIRECTIVE = /%(?:%|\(([^)]*)\)[sdi])/y

/** Compiles a Gunicorn access log format; throws an Error saying what is wrong with it. */
export function compileAccessFormat(format: string): AccessFormat {
  const parts: (string | Atom)[] = []
  let literal = ''
  let timed = false
  for (let at = 0; at < format.length; ) {
    const percent = format.indexOf('%', at)
    if (percent === -1) {
      literal += format.slice(at)
      break
    }
    literal += format.slice(at, percent)
    DIRECTIVE.lastIndex = percent
    const match = DIRECTIVE.exec(format)
    if (match === null) {
      throw new Error(`"%" at offset ${percent} starts no atom: write %(NAME)s, e.g. %(h)s or %({User-Agent}i)s, and %% for a percent sign`)
    }
    if (match[1] === undefined) {
      literal += '%'
    } else {
      if (literal !== '') parts.push(literal)
      literal = ''
      parts.push(atomFor(match[1]))
      timed ||= TIMING.has(match[1])
    }
    at = percent + match[0].length
  }
  if (literal !== '') parts.push(literal)
  return {
    timed,
    line(entry) {
      const micros = timed ? Math.floor((performance.now() - entry.startTime) * 1000) : 0
      let line = ''
      for (const part of parts) line += typeof part === 'string' ? part : part(entry, micros)
      return line
    },
  }
}

/** A JSON value: strings, numbers and booleans as they are, anything else (a stream, an object) as text. */
function jsonValue(value: unknown): string | number | boolean | null {
  if (value === undefined || value === null) return null
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : String(value)
}

/**
 * The access log as JSON lines (--log-format json): one object per request with every atom of
 * Gunicorn's format language under a descriptive key, values unescaped (JSON escapes them),
 * null when absent. The `{Header}i`, `{Header}o` and `{KEY}e` atoms of `format` add
 * request_headers, response_headers and environ objects keyed by the names as written.
 */
export function compileJsonAccessFormat(format: string): AccessFormat {
  compileAccessFormat(format)
  const named: { kind: string; name: string; key: string }[] = []
  for (const match of format.matchAll(/%\(\{([^}]*)\}([ioeIOE])\)[sdi]/g)) named.push({ name: match[1], key: match[1].toLowerCase(), kind: match[2].toLowerCase() })
  return {
    timed: true,
    line(e) {
      const micros = Math.floor((performance.now() - e.startTime) * 1000)
      const env = e.environ
      const status = statusCode(e)
      const record: Record<string, unknown> = {
        time: new Date().toISOString(),
        remote_addr: jsonValue(env.REMOTE_ADDR || null),
        user: basicUser(env.HTTP_AUTHORIZATION) ?? null,
        request_line: `${env.REQUEST_METHOD} ${env.RAW_URI} ${env.SERVER_PROTOCOL}`,
        method: jsonValue(env.REQUEST_METHOD),
        path: jsonValue(env.PATH_INFO),
        query: jsonValue(env.QUERY_STRING),
        protocol: jsonValue(env.SERVER_PROTOCOL),
        status: status === undefined ? null : Number(status),
        bytes_sent: bytesSent(e),
        referer: jsonValue(env.HTTP_REFERER),
        user_agent: jsonValue(env.HTTP_USER_AGENT),
        request_time: micros / 1e6,
        request_time_us: micros,
        pid: process.pid,
      }
      for (const { kind, name, key } of named) {
        const group = kind === 'i' ? 'request_headers' : kind === 'o' ? 'response_headers' : 'environ'
        const values = (record[group] ??= {}) as Record<string, unknown>
        values[name] = jsonValue(kind === 'i' ? rawRequestHeader(env, key) : kind === 'o' ? rawResponseHeader(e.responseHeaders, key) : rawEnviron(env, key))
      }
      return JSON.stringify(record)
    },
  }
}

/** Lines are encoded into buffers of this size; a full one is written without waiting. */
const CHUNK_BYTES = 64 * 1024
/** How long a line may wait in memory. */
const FLUSH_MS = 200
/** Beyond this much unwritten data (a destination slower than the traffic), lines are dropped
 * and counted rather than held until the worker runs out of memory. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024

/** Where lines go: a file opened for appending, or this process's stdout (`-`). */
export class AccessLog {
  // Each line is encoded as soon as it is made: pending lines are bytes outside V8's heap,
  // counted exactly, rather than thousands of strings that outlive collections until a write.
  private chunk: Buffer = Buffer.allocUnsafe(CHUNK_BYTES)
  private used = 0
  /** A written chunk's memory, for the next chunk: under load a chunk fills every few
   * milliseconds, and fresh ones would pile up outside the heap until a collection. */
  private spare: Buffer | undefined
  /** Filled chunks, oldest first, and their bytes. */
  private full: Buffer[] = []
  private fullBytes = 0
  private timer: NodeJS.Timeout | undefined
  /** The write under way: its file descriptor, null for stdout, undefined if none. */
  private writingTo: number | null | undefined
  private whenWritten: (() => void) | undefined
  private dropped = 0
  private failing = false

  private constructor(
    readonly target: string,
    private fd: number | null,
    private readonly format: AccessFormat,
  ) {}

  /** Opens `target` for appending ('-' is stdout); throws if the file or the format is bad.
   * `json` writes JSON lines instead of `format`'s (compileJsonAccessFormat). */
  static open(target: string, format: string, json = false): AccessLog {
    const compiled = json ? compileJsonAccessFormat(format) : compileAccessFormat(format)
    return new AccessLog(target, target === '-' ? null : openSync(target, 'a'), compiled)
  }

  /** Whether entries need a startTime. */
  get timed(): boolean {
    return this.format.timed
  }

  /** Formats the entry now and queues the line. */
  record(entry: AccessEntry): void {
    if (this.fullBytes > MAX_PENDING_BYTES) {
      this.dropped++
      return
    }
    let line: string
    try {
      line = `${this.format.line(entry)}\n`
    } catch (err) {
      log.error(`Cannot format the access log line for ${String(entry.environ.RAW_URI)}: ${describe(err)}`)
      return
    }
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.used + 3 * line.length > CHUNK_BYTES) this.seal()
    if (3 * line.length > CHUNK_BYTES) this.queue(Buffer.from(line))
    else this.used += this.chunk.write(line, this.used)
    if (this.full.length > 0) this.flushSoon()
    else this.timer ??= setTimeout(this.flushSoon, FLUSH_MS).unref()
  }

  /** Writes every pending line; resolves once they are written. */
  async flush(): Promise<void> {
    if (this.writingTo !== undefined) await new Promise<void>((resolve) => (this.whenWritten = resolve))
    this.flushSync()
  }

  /** Writes every pending line before returning; for the moment the process exits. */
  flushSync(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    const data = this.take()
    if (data === undefined) return
    try {
      if (this.fd === null) process.stdout.write(data)
      else for (let at = 0; at < data.length; ) at += writeSync(this.fd, data, at)
    } catch (err) {
      this.failed(err as Error)
    }
  }

  /** Opens the file again by name, after logrotate moved it; lines still pending go to the new one. */
  reopen(): void {
    const old = this.fd
    if (old === null) return
    this.fd = openSync(this.target, 'a')
    if (old !== this.writingTo) closeSync(old)
  }

  /** Moves the current chunk, if it holds anything, to the full ones. */
  private seal(): void {
    if (this.used === 0) return
    this.queue(this.chunk.subarray(0, this.used))
    this.chunk = this.spare ?? Buffer.allocUnsafe(CHUNK_BYTES)
    this.spare = undefined
    this.used = 0
  }

  private queue(bytes: Buffer): void {
    this.full.push(bytes)
    this.fullBytes += bytes.length
  }

  /** Everything pending as one buffer, now owned by the caller; undefined if nothing is. */
  private take(): Buffer | undefined {
    this.seal()
    if (this.full.length === 0) return undefined
    const data = this.full.length === 1 ? this.full[0] : Buffer.concat(this.full, this.fullBytes)
    this.full = []
    this.fullBytes = 0
    return data
  }

  private readonly flushSoon = (): void => {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.writingTo !== undefined) return
    const data = this.take()
    if (data === undefined) return
    const fd = this.fd
    this.writingTo = fd
    if (fd === null) {
      process.stdout.write(data, (err) => this.written(err ?? null, data))
      return
    }
    const from = (offset: number) =>
      write(fd, data, offset, data.length - offset, null, (err, n) => {
        if (err === null && offset + n < data.length) return from(offset + n)
        if (fd !== this.fd) closeSync(fd)
        this.written(err, data)
      })
    from(0)
  }

  private written(err: Error | null, data: Buffer): void {
    this.writingTo = undefined
    // One whole chunk (the usual case) is written from its own memory, now free again.
    if (data.buffer.byteLength === CHUNK_BYTES) this.spare = Buffer.from(data.buffer)
    if (err !== null) this.failed(err)
    else this.recovered()
    const waiter = this.whenWritten
    this.whenWritten = undefined
    if (waiter !== undefined) waiter()
    // A full chunk goes at once; a few lines wait for the timer, so a fast destination does
    // not turn every turn of the event loop into a write.
    else if (this.full.length > 0) this.flushSoon()
    else if (this.used > 0) this.timer ??= setTimeout(this.flushSoon, FLUSH_MS).unref()
  }

  /** One error line per failing stretch, not one per batch. */
  private failed(err: Error): void {
    if (!this.failing) log.error(`Cannot write the access log ${this.target}: ${err.message}`)
    this.failing = true
  }

  private recovered(): void {
    this.failing = false
    if (this.dropped === 0) return
    log.warning(`${this.dropped} access log lines were dropped: ${this.target} was written slower than requests were served`)
    this.dropped = 0
  }
}
