// Builds the environ, ugn's counterpart of a WSGI environ (see docs/SPEC.md), from the one
// string and the integer offsets the Rust engine hands over for each request.

import { abortRequest, type CloseListener, earlyHints, type HeaderList, onClose, upgradeConnection } from './exchange.js'
import type { UpgradedSocket } from './upgraded-socket.js'
import type { RequestInput } from './input.js'

/** Offsets in the request metadata array, as written by src/native/server.rs. */
export const M_ID = 0
export const M_FLAGS = 1
export const M_LISTENER = 2
const M_PEER_PORT = 3
const M_METHOD = 4
const M_TARGET = 6
const M_PATH = 8
const M_QUERY = 10
const M_PEER = 12
const M_HEADER_COUNT = 14
const M_HEADERS = 15
const M_PER_HEADER = 5

export const F_KEEP_ALIVE = 1
export const F_BODY_COMPLETE = 2
export const F_EXPECT_CONTINUE = 4
export const F_UPGRADE = 8
export const F_HAS_BODY = 16
/** The client used https: the connection is TLS, or a trusted proxy said so (secure_scheme_headers). */
export const F_HTTPS = 32
/** The connection itself is TLS. */
export const F_TLS = 64
/** The request came on an HTTP/2 stream. */
export const F_HTTP2 = 128

export function requestMetaLength(maxHeaders: number): number {
  return M_HEADERS + M_PER_HEADER * maxHeaders
}

/** The address a listener serves, as the app sees it in SERVER_NAME and SERVER_PORT. */
export interface ServerAddress {
  name: string
  port: string
}

export interface Environ {
  REQUEST_METHOD: string
  SCRIPT_NAME: string
  PATH_INFO: string
  QUERY_STRING: string
  RAW_URI: string
  SERVER_NAME: string
  SERVER_PORT: string
  SERVER_PROTOCOL: string
  REMOTE_ADDR: string
  REMOTE_PORT: string
  CONTENT_TYPE?: string
  CONTENT_LENGTH?: string
  'ugn.version': readonly [number, number]
  'ugn.url_scheme': 'http' | 'https'
  /** The connection is TLS (`--certfile`); `ugn.url_scheme` may say https without it, behind a proxy. */
  'ugn.tls': boolean
  'ugn.input': RequestInput
  'ugn.errors': NodeJS.WritableStream
  'ugn.multithread': boolean
  'ugn.multiprocess': boolean
  'ugn.run_once': boolean
  'ugn.input_terminated': boolean
  'ugn.file_wrapper': unknown
  'ugn.on_close': (listener: CloseListener) => void
  'ugn.abort': () => void
  /** Present on a request that asks for an upgrade (Connection: upgrade + Upgrade): takes the
   * connection over as a raw socket (docs/SPEC.md, Upgrades). */
  'ugn.upgrade': (() => UpgradedSocket) | undefined
  /** Sends 103 Early Hints with these fields before the response (docs/SPEC.md). */
  'ugn.early_hints': (headers: HeaderList) => void
  [key: `HTTP_${string}`]: string | undefined
  [key: string]: unknown
}

export interface EnvironContext {
  servers: ServerAddress[]
  multiprocess: boolean
  fileWrapper: unknown
}

const VERSION = Object.freeze([1, 0] as const)

// Header names map to CGI keys the same way on every request; clients repeat their spelling.
const keyCache = new Map<string, string>()

/** The environ key of a request header: `User-Agent` gives `HTTP_USER_AGENT`. */
export function cgiKey(name: string): string {
  let key = keyCache.get(name)
  if (key === undefined) {
    const upper = name.toUpperCase().replace(/-/g, '_')
    key = upper === 'CONTENT_TYPE' || upper === 'CONTENT_LENGTH' ? upper : `HTTP_${upper}`
    if (keyCache.size < 1024) keyCache.set(name, key)
  }
  return key
}

// Environ keys by the id the addon gives each header name it sees (`HeaderNames` in
// src/native/server.rs): an array read instead of a slice of the head and a Map lookup per header.
const keysById: string[] = []

/** Percent-decodes a path into a string of byte values (ISO-8859-1), as WSGI's PATH_INFO. */
export function unquotePath(path: string): string {
  if (!path.includes('%')) return path
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

export function buildEnviron(text: string, m: Int32Array, input: RequestInput, ctx: EnvironContext): Environ {
  const server = ctx.servers[m[M_LISTENER]]
  const environ: Environ = {
    REQUEST_METHOD: text.slice(m[M_METHOD], m[M_METHOD + 1]),
    SCRIPT_NAME: '',
    PATH_INFO: unquotePath(text.slice(m[M_PATH], m[M_PATH + 1])),
    QUERY_STRING: text.slice(m[M_QUERY], m[M_QUERY + 1]),
    RAW_URI: text.slice(m[M_TARGET], m[M_TARGET + 1]),
    SERVER_NAME: server.name,
    SERVER_PORT: server.port,
    SERVER_PROTOCOL: m[M_FLAGS] & F_HTTP2 ? 'HTTP/2.0' : (m[M_FLAGS] >> 8) & 0xff ? 'HTTP/1.1' : 'HTTP/1.0',
    REMOTE_ADDR: text.slice(m[M_PEER], m[M_PEER + 1]),
    REMOTE_PORT: m[M_PEER_PORT] === 0 ? '' : String(m[M_PEER_PORT]),
    'ugn.version': VERSION,
    'ugn.url_scheme': m[M_FLAGS] & F_HTTPS ? 'https' : 'http',
    'ugn.tls': (m[M_FLAGS] & F_TLS) !== 0,
    'ugn.input': input,
    'ugn.errors': process.stderr,
    'ugn.multithread': false,
    'ugn.multiprocess': ctx.multiprocess,
    'ugn.run_once': false,
    'ugn.input_terminated': true,
    'ugn.file_wrapper': ctx.fileWrapper,
    'ugn.on_close': onClose,
    'ugn.abort': abortRequest,
    'ugn.upgrade': m[M_FLAGS] & F_UPGRADE ? upgradeConnection : undefined,
    'ugn.early_hints': earlyHints,
  }
  const count = m[M_HEADER_COUNT]
  for (let i = 0, at = M_HEADERS; i < count; i++, at += M_PER_HEADER) {
    const id = m[at + 4]
    let key = id >= 0 ? keysById[id] : undefined
    if (key === undefined) {
      key = cgiKey(text.slice(m[at], m[at + 1]))
      if (id >= 0) keysById[id] = key
    }
    const value = text.slice(m[at + 2], m[at + 3])
    const previous = environ[key]
    // RFC 9110 joins repeated fields with commas; cookies are the exception (RFC 6265 uses "; ").
    environ[key] = previous === undefined ? value : `${previous}${key === 'HTTP_COOKIE' ? '; ' : ','}${value}`
  }
  return environ
}
