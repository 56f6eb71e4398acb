// Every setting is declared once here: its name, flags, type, default, validation and help.
// The CLI, the worker's configuration and docs/settings.md are all derived from this table.

import { statSync } from 'node:fs'
import path from 'node:path'

import { compileAccessFormat, DEFAULT_ACCESS_LOG_FORMAT } from '../access-log.js'
import { native, type TlsArgs } from '../native.js'
import { parseStatsdHost } from '../statsd.js'

export class SettingError extends Error {
  /** `detail` says what is wrong with the value; `summary` replaces the whole message. */
  constructor(
    readonly setting: string,
    detail: string,
    summary?: string,
  ) {
    super(summary ?? `Invalid value for ${setting}: ${detail}`)
    this.name = 'SettingError'
  }
}

export type Kind = 'int' | 'number' | 'string' | 'bool' | 'list' | 'choice'

export interface Setting<T = unknown> {
  /** Gunicorn-style snake_case name, used in config files and error messages. */
  name: string
  section: string
  /** Command-line flags, short form first. */
  flags: string[]
  /** Placeholder shown in help for the flag's argument. */
  meta?: string
  kind: Kind
  choices?: readonly string[]
  /** The value of the flag given bare, which makes its argument optional (argparse's nargs='?'). */
  preset?: string
  default: () => T
  /** How the default is shown in help and docs when it depends on the environment. */
  defaultText?: string
  /** Turns a raw value (CLI string, config file value) into a checked one, or throws SettingError. */
  parse: (raw: unknown, name: string) => T
  help: string
}

function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: unknown, name: string): number => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN
    if (!Number.isInteger(n)) throw new SettingError(name, `${JSON.stringify(raw)} is not an integer`)
    if (n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`
      throw new SettingError(name, `${n} is out of range: allowed values are ${range}`)
    }
    return n
  }
}

function num(min: number) {
  return (raw: unknown, name: string): number => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN
    if (!Number.isFinite(n)) throw new SettingError(name, `${JSON.stringify(raw)} is not a number`)
    if (n < min) throw new SettingError(name, `${n} is out of range: allowed values are >= ${min}`)
    return n
  }
}

function choice<T extends string>(choices: readonly T[]) {
  return (raw: unknown, name: string): T => {
    if (typeof raw === 'string' && (choices as readonly string[]).includes(raw.toLowerCase())) return raw.toLowerCase() as T
    throw new SettingError(name, `${JSON.stringify(raw)} is not one of the allowed values: ${choices.join(', ')}`)
  }
}

function bool(raw: unknown, name: string): boolean {
  if (typeof raw === 'boolean') return raw
  if (typeof raw === 'string' && ['true', '1', 'yes', 'on'].includes(raw.toLowerCase())) return true
  if (typeof raw === 'string' && ['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return false
  throw new SettingError(name, `${JSON.stringify(raw)} is not a boolean: allowed values are true, false`)
}

function stringList(raw: unknown, name: string): string[] {
  const list = Array.isArray(raw) ? raw : [raw]
  for (const item of list) {
    if (typeof item !== 'string' || item.trim() === '') throw new SettingError(name, `${JSON.stringify(item)} is not a non-empty string`)
  }
  return list.map((s: string) => s.trim())
}

function optionalString(raw: unknown, name: string): string | null {
  if (raw === null) return null
  if (typeof raw !== 'string' || raw.trim() === '') throw new SettingError(name, `${JSON.stringify(raw)} is not a non-empty string`)
  return raw
}

const CERT_REQS = ['none', 'optional', 'required']
export const HEADER_MAPS = ['drop', 'refuse', 'dangerous'] as const

function certReqs(raw: unknown, name: string): number {
  const named = typeof raw === 'string' ? CERT_REQS.indexOf(raw.trim().toLowerCase().replace(/^cert_/, '')) : -1
  if (named >= 0) return named
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN
  if (n === 0 || n === 1 || n === 2) return n
  throw new SettingError(name, `${JSON.stringify(raw)} is not one of the allowed values: 0 (none), 1 (optional), 2 (required)`)
}

function ciphers(raw: unknown, name: string): string | null {
  const text = optionalString(raw, name)
  if (text === null) return null
  const known = native.tlsCipherSuites()
  for (const suite of text.split(/[:,]/).map((s) => s.trim()).filter((s) => s !== '')) {
    if (!known.includes(suite)) throw new SettingError(name, `${JSON.stringify(suite)} is not a cipher suite ugn offers: allowed are ${known.join(', ')}`)
  }
  return text
}

/** Ordered, as ALPN offers them. */
function httpProtocols(raw: unknown, name: string): HttpProtocol[] {
  const items = (Array.isArray(raw) ? raw : [raw]).flatMap((item) => (typeof item === 'string' ? item.split(',') : [item]))
  const out: HttpProtocol[] = []
  for (const item of items) {
    const text = String(item).trim().toLowerCase()
    if (!(HTTP_PROTOCOLS as readonly string[]).includes(text)) {
      throw new SettingError(name, `${JSON.stringify(item)} is not one of the allowed values: ${HTTP_PROTOCOLS.join(', ')} (a comma-separated list)`)
    }
    if (!out.includes(text as HttpProtocol)) out.push(text as HttpProtocol)
  }
  if (out.length === 0) throw new SettingError(name, `names no protocol: allowed values are ${HTTP_PROTOCOLS.join(', ')}`)
  return out
}

function accessLogFormat(raw: unknown, name: string): string {
  const format = optionalString(raw, name) as string
  try {
    compileAccessFormat(format)
  } catch (err) {
    throw new SettingError(name, (err as Error).message)
  }
  return format
}

function statsdHost(raw: unknown, name: string): string | null {
  const text = optionalString(raw, name)
  if (text === null || parseStatsdHost(text) !== undefined) return text
  const why = text.startsWith('unix:') ? ': Unix datagram sockets are not supported (Node has no API for them)' : ''
  throw new SettingError(name, `${JSON.stringify(text)} is not HOST:PORT (e.g. localhost:8125 or [::1]:8125)${why}`)
}

function metricsBind(raw: unknown, name: string): string | null {
  const text = optionalString(raw, name)
  if (text === null || parseStatsdHost(text, 0) !== undefined) return text
  throw new SettingError(name, `${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:9100, [::1]:9100, or port 0 for any free port)`)
}

function dogstatsdTags(raw: unknown, name: string): string {
  if (raw === '') return ''
  const tags = optionalString(raw, name) as string
  // A '|' or a newline would end the tag list and start another field or metric.
  if (/[|\n\r]/.test(tags)) throw new SettingError(name, `${JSON.stringify(tags)} contains '|' or a line break: allowed are tags like env:prod,app:shop`)
  return tags
}

function directory(raw: unknown, name: string): string {
  const dir = optionalString(raw, name) as string
  let ok = false
  try {
    ok = statSync(dir).isDirectory()
  } catch {}
  if (!ok) throw new SettingError(name, `${JSON.stringify(dir)} is not an existing directory`)
  return path.resolve(dir)
}

/** Octal (0o22, 022), hexadecimal (0x12) or decimal, as Gunicorn's umask accepts. */
function umask(raw: unknown, name: string): number {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : ''
  let n = NaN
  if (typeof raw === 'number') n = raw
  else if (/^0o[0-7]+$/i.test(text)) n = parseInt(text.slice(2), 8)
  else if (/^0x[0-9a-f]+$/i.test(text)) n = parseInt(text.slice(2), 16)
  else if (/^0[0-7]+$/.test(text)) n = parseInt(text, 8)
  else if (/^\d+$/.test(text)) n = Number(text)
  if (!Number.isInteger(n) || n < 0 || n > 0o777) {
    throw new SettingError(name, `${JSON.stringify(raw)} is not a file mode mask: allowed values are 0 to 0o777 (octal 0o22 or 022, hex 0x12, or decimal)`)
  }
  return n
}

function keyValues(raw: unknown, name: string): string[] {
  const list = stringList(raw, name)
  for (const item of list) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(item)) throw new SettingError(name, `${JSON.stringify(item)} is not KEY=VALUE`)
  }
  return list
}

/** A user or group, by name or numeric id, resolved to the id the worker passes to
 * setuid/setgid; a name that does not exist is refused here, before anything binds. */
function account(kind: 'user' | 'group') {
  return (raw: unknown, name: string): number | null => {
    if (raw === null) return null
    if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw
    if (typeof raw === 'string' && /^\d+$/.test(raw.trim())) return Number(raw)
    if (typeof raw === 'string' && /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(raw.trim())) {
      const id = kind === 'user' ? native.lookupUser(raw.trim()) : native.lookupGroup(raw.trim())
      if (id === null) throw new SettingError(name, `there is no ${kind} named ${JSON.stringify(raw.trim())} on this system`)
      return id
    }
    throw new SettingError(name, `${JSON.stringify(raw)} is not a ${kind} name or a numeric id`)
  }
}

function bindList(raw: unknown, name: string): string[] {
  const list = stringList(raw, name)
  for (const bind of list) {
    try {
      native.checkBind(bind)
    } catch (err) {
      throw new SettingError(name, (err as Error).message)
    }
  }
  return list
}

/** IP addresses and CIDR networks (or `*`), checked by the engine's own parser
 * (crates/ugn-http/src/allow.rs): a comma-separated string, or an array in the config file. */
function addressList(raw: unknown, name: string): string[] {
  const list: unknown[] | null = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : null
  if (list === null || list.some((item) => typeof item !== 'string')) {
    throw new SettingError(name, `${JSON.stringify(raw)} is not a comma-separated string of addresses or an array of them`)
  }
  const entries = (list as string[]).map((item) => item.trim()).filter((item) => item !== '')
  try {
    native.checkAllowList(entries.join(','))
  } catch (err) {
    throw new SettingError(name, (err as Error).message)
  }
  return entries
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** Printable ASCII without surrounding spaces: what a parsed header value can equal. */
const HEADER_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/

/** Header names (stored upper-cased, as Gunicorn spells them) and the values meaning https: an
 * object in the config file, NAME=VALUE strings on the command line; '' alone means none. */
function schemeHeaders(raw: unknown, name: string): Record<string, string> {
  let pairs: Array<[string, unknown]>
  if (typeof raw === 'string' || Array.isArray(raw)) {
    pairs = []
    for (const item of Array.isArray(raw) ? raw : [raw]) {
      if (typeof item !== 'string') throw new SettingError(name, `${JSON.stringify(item)} is not a NAME=VALUE string`)
      if (item.trim() === '') continue
      const eq = item.indexOf('=')
      if (eq === -1) throw new SettingError(name, `${JSON.stringify(item)} is not NAME=VALUE`)
      pairs.push([item.slice(0, eq).trim(), item.slice(eq + 1).trim()])
    }
  } else if (raw !== null && typeof raw === 'object') {
    pairs = Object.entries(raw)
  } else {
    throw new SettingError(name, `${JSON.stringify(raw)} is not an object of header names to values or a list of NAME=VALUE strings`)
  }
  const out: Record<string, string> = {}
  for (const [header, value] of pairs) {
    if (!TOKEN.test(header)) throw new SettingError(name, `${JSON.stringify(header)} is not a header name`)
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      throw new SettingError(name, `the value of ${header}, ${JSON.stringify(value)}, is not printable ASCII without surrounding spaces`)
    }
    const key = header.toUpperCase()
    if (Object.hasOwn(out, key)) throw new SettingError(name, `${header} is given more than once`)
    out[key] = value
  }
  return out
}

function proxyProtocol(raw: unknown, name: string): (typeof PROXY_PROTOCOLS)[number] {
  if (typeof raw === 'boolean') return raw ? 'auto' : 'off'
  return choice(PROXY_PROTOCOLS)(raw, name)
}

function defaultWorkers(): number {
  const fromEnv = process.env.WEB_CONCURRENCY
  return fromEnv ? int(1)(fromEnv, 'workers (from WEB_CONCURRENCY)') : 1
}

export const WORKER_CLASSES = ['async', 'sync'] as const
export const HTTP_PROTOCOLS = ['h1', 'h2'] as const
export type HttpProtocol = (typeof HTTP_PROTOCOLS)[number]
export const HTTP2_CLEARTEXT = ['off', 'prior-knowledge'] as const
export const INTERFACES = ['auto', 'native', 'fetch', 'node'] as const
export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const
export const LOG_FORMATS = ['text', 'json'] as const
/** In this order: the engine's code for each mode is its index (src/native/server.rs). */
export const PROXY_PROTOCOLS = ['off', 'v1', 'v2', 'auto'] as const

export const settings = {
  config: {
    name: 'config',
    section: 'Config File',
    flags: ['-c', '--config'],
    meta: 'CONFIG',
    kind: 'string',
    default: (): string | null => null,
    defaultText: './ugn.config.js, .mjs or .cjs if present',
    parse: optionalString,
    help: 'The JavaScript config file to load: it exports settings (snake_case names) and server hooks.',
  },
  app: {
    name: 'app',
    section: 'Config File',
    flags: [],
    kind: 'string',
    default: (): string | null => null,
    parse: optionalString,
    help: 'The app to serve, MODULE[:ATTR], set in the config file; the command line argument overrides it.',
  },
  bind: {
    name: 'bind',
    section: 'Server Socket',
    flags: ['-b', '--bind'],
    meta: 'ADDRESS',
    kind: 'list',
    default: () => ['127.0.0.1:8000'],
    parse: bindList,
    help: 'The socket to bind: HOST, HOST:PORT, [IPV6]:PORT, unix:PATH or fd://FD. Repeat to bind several.',
  },
  backlog: {
    name: 'backlog',
    section: 'Server Socket',
    flags: ['--backlog'],
    meta: 'INT',
    kind: 'int',
    default: () => 2048,
    parse: int(1, 65535),
    help: 'The maximum number of pending connections the kernel queues for each listener.',
  },
  reuse_port: {
    name: 'reuse_port',
    section: 'Server Socket',
    flags: ['--reuse-port'],
    kind: 'bool',
    default: () => false,
    parse: bool,
    help: 'Give each worker its own SO_REUSEPORT socket on every TCP address, to spread new connections evenly.',
  },
  workers: {
    name: 'workers',
    section: 'Worker Processes',
    flags: ['-w', '--workers'],
    meta: 'INT',
    kind: 'int',
    default: defaultWorkers,
    defaultText: '$WEB_CONCURRENCY, else 1',
    parse: int(1, 4096),
    help: 'The number of worker processes, each serving requests on its own core.',
  },
  worker_class: {
    name: 'worker_class',
    section: 'Worker Processes',
    flags: ['-k', '--worker-class'],
    meta: 'STRING',
    kind: 'choice',
    choices: WORKER_CLASSES,
    default: (): (typeof WORKER_CLASSES)[number] => 'async',
    parse: choice(WORKER_CLASSES),
    help:
      'async: each worker serves many connections at once on its event loop (up to --worker-connections). ' +
      'sync: one connection at a time per worker and no keep-alive, for strict isolation.',
  },
  interface: {
    name: 'interface',
    section: 'Worker Processes',
    flags: ['--interface'],
    meta: 'STRING',
    kind: 'choice',
    choices: INTERFACES,
    default: (): (typeof INTERFACES)[number] => 'auto',
    parse: choice(INTERFACES),
    help:
      'How the app is called. native: app(environ, startResponse) (docs/SPEC.md). fetch: an object with ' +
      'fetch(request) returning a Response (Hono, Bun- and Deno-style apps). node: a (req, res) handler, ' +
      'Express, Koa or Fastify app. auto: detected from what the module exports (docs/adapters.md).',
  },
  worker_connections: {
    name: 'worker_connections',
    section: 'Worker Processes',
    flags: ['--worker-connections'],
    meta: 'INT',
    kind: 'int',
    default: () => 1000,
    parse: int(1, 1_000_000),
    help: 'The maximum number of simultaneous connections per async worker.',
  },
  timeout: {
    name: 'timeout',
    section: 'Worker Processes',
    flags: ['-t', '--timeout'],
    meta: 'INT',
    kind: 'int',
    default: () => 30,
    parse: int(0),
    help:
      "A worker whose JavaScript thread sends no heartbeat for this many seconds (a handler stuck in a loop) " +
      'is killed (SIGABRT, then SIGKILL) and replaced. 0 disables the check.',
  },
  max_requests: {
    name: 'max_requests',
    section: 'Worker Processes',
    flags: ['--max-requests'],
    meta: 'INT',
    kind: 'int',
    default: () => 0,
    parse: int(0),
    help: 'A worker restarts gracefully after serving this many requests (0 disables), a simple guard against memory leaks.',
  },
  max_requests_jitter: {
    name: 'max_requests_jitter',
    section: 'Worker Processes',
    flags: ['--max-requests-jitter'],
    meta: 'INT',
    kind: 'int',
    default: () => 0,
    parse: int(0),
    help: 'A random number from 0 to this is added to max_requests per worker, so workers do not all restart at once.',
  },
  graceful_timeout: {
    name: 'graceful_timeout',
    section: 'Worker Processes',
    flags: ['--graceful-timeout'],
    meta: 'INT',
    kind: 'number',
    default: () => 30,
    parse: num(0),
    help: 'After a graceful stop begins, workers still running after this many seconds are force killed.',
  },
  keepalive: {
    name: 'keepalive',
    section: 'Worker Processes',
    flags: ['--keep-alive'],
    meta: 'INT',
    kind: 'number',
    default: () => 2,
    parse: num(0),
    help: 'Seconds to wait for the next request on a keep-alive connection (0 disables keep-alive).',
  },
  limit_request_body: {
    name: 'limit_request_body',
    section: 'Security',
    flags: ['--limit-request-body'],
    meta: 'BYTES',
    kind: 'int',
    default: () => 0,
    defaultText: '0 (no limit)',
    parse: int(0),
    help:
      'Most bytes of a request body. A larger Content-Length is answered 413 before the app is called (and before ' +
      '100 Continue); a chunked body that grows past it, 413 as well (or a close once the response has started, the ' +
      "app's read failing). 0: no limit, as in Gunicorn and node:http.",
  },
  header_map: {
    name: 'header_map',
    section: 'Security',
    flags: ['--header-map'],
    meta: 'MODE',
    kind: 'choice',
    choices: HEADER_MAPS,
    default: (): (typeof HEADER_MAPS)[number] => 'drop',
    parse: choice(HEADER_MAPS),
    help:
      'Request header names containing _ (which the environ cannot tell from -, so X_Auth could pose as X-Auth): ' +
      'drop them, refuse the request with 400, or (dangerous) keep them.',
  },
  permit_unconventional_http_method: {
    name: 'permit_unconventional_http_method',
    section: 'Security',
    flags: ['--permit-unconventional-http-method'],
    kind: 'bool',
    default: () => false,
    parse: bool,
    help: 'Accept methods in lower case, containing #, or shorter than 3 or longer than 20 characters (any token is a method by RFC 9110; Gunicorn refuses these by default).',
  },
  header_timeout: {
    name: 'header_timeout',
    section: 'Security',
    flags: ['--header-timeout'],
    meta: 'SECONDS',
    kind: 'number',
    default: () => 30,
    parse: num(1),
    help:
      'Seconds a client may take to send a request head, counted from its first byte (from the accept for a new ' +
      "connection's first request); then it gets 408 and is closed. Slow clients trickling headers (slowloris) hold " +
      "a connection no longer than this. Like Gunicorn's sync worker, whose socket reads time out after --timeout.",
  },
  body_timeout: {
    name: 'body_timeout',
    section: 'Security',
    flags: ['--body-timeout'],
    meta: 'SECONDS',
    kind: 'number',
    default: () => 30,
    parse: num(1),
    help:
      'Seconds a request body the app is reading, or a response, may make no progress: no body byte arrives, or the ' +
      'client takes no response byte. A stalled body gets 408 (the app sees its input fail), or a close once the ' +
      'response has started; a stalled response is closed.',
  },
  limit_request_line: {
    name: 'limit_request_line',
    section: 'Security',
    flags: ['--limit-request-line'],
    meta: 'INT',
    kind: 'int',
    default: () => 4094,
    parse: int(0, 8190),
    help: 'The maximum size of the HTTP request line in bytes (0 means 8190). Longer lines get 414.',
  },
  limit_request_fields: {
    name: 'limit_request_fields',
    section: 'Security',
    flags: ['--limit-request-fields'],
    meta: 'INT',
    kind: 'int',
    default: () => 100,
    parse: int(0, 32768),
    help: 'The maximum number of header fields in a request. More get 431.',
  },
  limit_request_field_size: {
    name: 'limit_request_field_size',
    section: 'Security',
    flags: ['--limit-request-field_size', '--limit-request-field-size'],
    meta: 'INT',
    kind: 'int',
    default: () => 8190,
    parse: int(0, 65536),
    help: 'The maximum size of one request header field in bytes (0 means 8190). Larger fields get 431.',
  },
  chdir: {
    name: 'chdir',
    section: 'Server Mechanics',
    flags: ['--chdir'],
    meta: 'DIR',
    kind: 'string',
    default: () => process.cwd(),
    defaultText: 'the current directory',
    parse: directory,
    help: 'Change to this directory before loading the app.',
  },
  daemon: {
    name: 'daemon',
    section: 'Server Mechanics',
    flags: ['-D', '--daemon'],
    kind: 'bool',
    default: () => false,
    parse: bool,
    help:
      'Detach from the terminal: the master restarts itself in a new session with its standard streams on /dev/null, ' +
      'and the command returns at once. Use --error-logfile and --pid with it.',
  },
  pidfile: {
    name: 'pidfile',
    section: 'Server Mechanics',
    flags: ['-p', '--pid'],
    meta: 'FILE',
    kind: 'string',
    default: (): string | null => null,
    parse: optionalString,
    help: "A file to write the master's pid to; removed when the master exits.",
  },
  raw_env: {
    name: 'raw_env',
    section: 'Server Mechanics',
    flags: ['-e', '--env'],
    meta: 'ENV',
    kind: 'list',
    default: (): string[] => [],
    parse: keyValues,
    help: 'Set an environment variable for the app, KEY=VALUE. Repeat for several.',
  },
  umask: {
    name: 'umask',
    section: 'Server Mechanics',
    flags: ['-m', '--umask'],
    meta: 'INT',
    kind: 'int',
    default: () => 0,
    parse: umask,
    help: 'The file mode mask of the master and workers, also applied to Unix sockets (e.g. 0o007).',
  },
  user: {
    name: 'user',
    section: 'Server Mechanics',
    flags: ['-u', '--user'],
    meta: 'USER',
    kind: 'string',
    default: (): number | null => null,
    defaultText: 'the current user',
    parse: account('user'),
    help: 'Switch worker processes to this user (name or uid) after the sockets are bound.',
  },
  group: {
    name: 'group',
    section: 'Server Mechanics',
    flags: ['-g', '--group'],
    meta: 'GROUP',
    kind: 'string',
    default: (): number | null => null,
    defaultText: 'the current group',
    parse: account('group'),
    help: 'Switch worker processes to this group (name or gid) after the sockets are bound.',
  },
  forwarded_allow_ips: {
    name: 'forwarded_allow_ips',
    section: 'Server Mechanics',
    flags: ['--forwarded-allow-ips'],
    meta: 'STRING',
    kind: 'string',
    default: () => addressList(process.env.FORWARDED_ALLOW_IPS ?? '127.0.0.1,::1', 'forwarded_allow_ips (from FORWARDED_ALLOW_IPS)'),
    defaultText: '$FORWARDED_ALLOW_IPS, else 127.0.0.1,::1',
    parse: addressList,
    help:
      'The front ends (proxies) whose secure_scheme_headers are believed: comma-separated IP addresses and ' +
      "networks (10.0.0.0/8, fd00::/8), or * for any peer. Checked against the connection's peer, never a header; " +
      'Unix-socket peers are always trusted. Make sure the proxy removes those headers from what clients send.',
  },
  secure_scheme_headers: {
    name: 'secure_scheme_headers',
    section: 'Server Mechanics',
    flags: ['--secure-scheme-headers'],
    meta: 'NAME=VALUE',
    kind: 'list',
    default: (): Record<string, string> => ({ 'X-FORWARDED-PROTOCOL': 'ssl', 'X-FORWARDED-PROTO': 'https', 'X-FORWARDED-SSL': 'on' }),
    defaultText: 'X-FORWARDED-PROTOCOL=ssl X-FORWARDED-PROTO=https X-FORWARDED-SSL=on',
    parse: schemeHeaders,
    help:
      "Headers by which a trusted front end (forwarded_allow_ips) says the client used https, making ugn.url_scheme 'https': " +
      'the header name (any case) and the exact value meaning https; any other value of one of them means http, and two ' +
      'that disagree are refused with 400. In the config file an object { NAME: VALUE }; on the command line NAME=VALUE, ' +
      "repeated for several, replacing the default set ('' for none).",
  },
  proxy_protocol: {
    name: 'proxy_protocol',
    section: 'Server Mechanics',
    flags: ['--proxy-protocol'],
    meta: 'MODE',
    kind: 'choice',
    choices: PROXY_PROTOCOLS,
    preset: 'auto',
    default: (): (typeof PROXY_PROTOCOLS)[number] => 'off',
    parse: proxyProtocol,
    help:
      'Every connection must start with a PROXY protocol header (HAProxy, stunnel, cloud load balancers), whose client ' +
      'address and port become REMOTE_ADDR and REMOTE_PORT. v1: the text header, v2: the binary one, auto (the flag alone, ' +
      'or true in the config file): either. A connection without a valid header is answered 400 and closed; one from a ' +
      'peer outside proxy_allow_ips, 403.',
  },
  proxy_allow_ips: {
    name: 'proxy_allow_ips',
    section: 'Server Mechanics',
    flags: ['--proxy-allow-from'],
    meta: 'STRING',
    kind: 'string',
    default: () => ['127.0.0.1', '::1'],
    defaultText: '127.0.0.1,::1',
    parse: addressList,
    help:
      'With proxy_protocol, the peers that may connect: comma-separated IP addresses and networks, or * for any. ' +
      'Unix-socket peers always may.',
  },
  certfile: {
    name: 'certfile',
    section: 'SSL',
    flags: ['--certfile'],
    meta: 'FILE',
    kind: 'string',
    default: (): string | null => null,
    parse: optionalString,
    help:
      'Serve HTTPS: a PEM file with the certificate chain, the server certificate first. Each worker reads it when it ' +
      'starts, so HUP picks up a renewed certificate.',
  },
  keyfile: {
    name: 'keyfile',
    section: 'SSL',
    flags: ['--keyfile'],
    meta: 'FILE',
    kind: 'string',
    default: (): string | null => null,
    defaultText: 'the key in certfile',
    parse: optionalString,
    help: "A PEM file with certfile's private key (PKCS#8, PKCS#1 RSA or SEC1 EC).",
  },
  ca_certs: {
    name: 'ca_certs',
    section: 'SSL',
    flags: ['--ca-certs'],
    meta: 'FILE',
    kind: 'string',
    default: (): string | null => null,
    parse: optionalString,
    help: 'A PEM file of the certificate authorities whose client certificates cert_reqs accepts.',
  },
  cert_reqs: {
    name: 'cert_reqs',
    section: 'SSL',
    flags: ['--cert-reqs'],
    meta: 'INT',
    kind: 'int',
    default: () => 0,
    parse: certReqs,
    help:
      'Client certificates, as Python\'s ssl module numbers them: 0 (none) asks for none, 1 (optional) verifies one if ' +
      'the client sends it, 2 (required) refuses clients without a valid one. 1 and 2 need ca_certs.',
  },
  ciphers: {
    name: 'ciphers',
    section: 'SSL',
    flags: ['--ciphers'],
    meta: 'SUITES',
    kind: 'string',
    default: (): string | null => null,
    defaultText: "rustls's defaults",
    parse: ciphers,
    help:
      'The cipher suites to offer, by IANA name, separated by colons or commas (e.g. ' +
      'TLS13_AES_256_GCM_SHA384:TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384). OpenSSL cipher strings are not understood: ' +
      'the engine is rustls, which offers only modern suites (TLS 1.2 and 1.3) to begin with.',
  },
  http_protocols: {
    name: 'http_protocols',
    section: 'HTTP/2',
    flags: ['--http-protocols'],
    meta: 'LIST',
    kind: 'string',
    default: (): HttpProtocol[] => ['h1'],
    parse: httpProtocols,
    help:
      'The HTTP versions served, in order of preference: h1 (HTTP/1.1), h2 (HTTP/2), comma-separated. With certfile, ' +
      'TLS offers them through ALPN in this order; h2 without TLS needs --http2-cleartext. With h2 alone, HTTP/1.1 ' +
      'requests are answered 505.',
  },
  http2_cleartext: {
    name: 'http2_cleartext',
    section: 'HTTP/2',
    flags: ['--http2-cleartext'],
    meta: 'MODE',
    kind: 'choice',
    choices: HTTP2_CLEARTEXT,
    default: (): (typeof HTTP2_CLEARTEXT)[number] => 'off',
    parse: choice(HTTP2_CLEARTEXT),
    help:
      'HTTP/2 without TLS (h2c). prior-knowledge: a connection that opens with the HTTP/2 preface speaks HTTP/2, ' +
      'if its peer is in forwarded_allow_ips (a proxy that speaks h2c to its upstreams); other peers are served ' +
      'HTTP/1.1. Needs h2 in http_protocols. The HTTP/1.1 Upgrade: h2c dance is not offered.',
  },
  http2_max_concurrent_streams: {
    name: 'http2_max_concurrent_streams',
    section: 'HTTP/2',
    flags: ['--http2-max-concurrent-streams'],
    meta: 'INT',
    kind: 'int',
    default: () => 100,
    parse: int(1, 2 ** 31 - 1),
    help: 'The most streams (requests) a client may have open at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS).',
  },
  http2_initial_window_size: {
    name: 'http2_initial_window_size',
    section: 'HTTP/2',
    flags: ['--http2-initial-window-size'],
    meta: 'BYTES',
    kind: 'int',
    default: () => 65_535,
    parse: int(1, 2 ** 31 - 1),
    help:
      "Bytes of a request body a client may send on a stream before the app has read them: each stream's initial " +
      'flow-control window (SETTINGS_INITIAL_WINDOW_SIZE).',
  },
  http2_max_frame_size: {
    name: 'http2_max_frame_size',
    section: 'HTTP/2',
    flags: ['--http2-max-frame-size'],
    meta: 'BYTES',
    kind: 'int',
    default: () => 16_384,
    parse: int(16_384, 16_777_215),
    help: 'The largest frame payload a client may send (SETTINGS_MAX_FRAME_SIZE).',
  },
  http2_max_header_list_size: {
    name: 'http2_max_header_list_size',
    section: 'HTTP/2',
    flags: ['--http2-max-header-list-size'],
    meta: 'BYTES',
    kind: 'int',
    default: () => 65_536,
    parse: int(1, 2 ** 31 - 1),
    help:
      "The largest request head a client may send, decoded (SETTINGS_MAX_HEADER_LIST_SIZE): the defence against HPACK " +
      'bombs. The limit_request_* settings apply too.',
  },
  proc_name: {
    name: 'proc_name',
    section: 'Process Naming',
    flags: ['-n', '--name'],
    meta: 'STRING',
    kind: 'string',
    default: (): string | null => null,
    defaultText: 'the app spec',
    parse: optionalString,
    help: 'The name shown in process titles (ps, top): "ugn: master [NAME]", "ugn: worker [NAME]".',
  },
  reload: {
    name: 'reload',
    section: 'Debugging',
    flags: ['--reload'],
    kind: 'bool',
    default: () => false,
    parse: bool,
    help:
      'Restart the workers when a source file (.js, .mjs, .cjs, .json) under the working directory changes, ' +
      'node_modules aside. For development.',
  },
  reload_extra_files: {
    name: 'reload_extra_files',
    section: 'Debugging',
    flags: ['--reload-extra-file'],
    meta: 'FILE',
    kind: 'list',
    default: (): string[] => [],
    parse: stringList,
    help: 'With --reload, also restart the workers when this file changes (templates, config). Repeat for several.',
  },
  preload_app: {
    name: 'preload_app',
    section: 'Server Mechanics',
    flags: ['--preload'],
    kind: 'bool',
    default: () => false,
    parse: bool,
    help:
      'Load the app in the master before starting workers, so a broken app stops ugn before it binds. ' +
      'Workers still load their own copy: a running Node process cannot be forked.',
  },
  check_config: {
    name: 'check_config',
    section: 'Debugging',
    flags: ['--check-config'],
    kind: 'bool',
    default: () => false,
    parse: bool,
    help: 'Check the configuration and that the app loads, then exit: 0 if both are fine, 1 with the reason if not.',
  },
  print_config: {
    name: 'print_config',
    section: 'Debugging',
    flags: ['--print-config'],
    kind: 'bool',
    default: () => false,
    parse: bool,
    help: 'Print the effective settings, after the config file, UGN_CMD_ARGS and the command line, then exit.',
  },
  accesslog: {
    name: 'accesslog',
    section: 'Logging',
    flags: ['--access-logfile'],
    meta: 'FILE',
    kind: 'string',
    default: (): string | null => null,
    defaultText: 'none: no access log',
    parse: optionalString,
    help:
      "The access log file to write to, one line per request; '-' means stdout. " +
      'Lines are buffered and written within 200 ms, and on exit; USR1 reopens the file.',
  },
  access_log_format: {
    name: 'access_log_format',
    section: 'Logging',
    flags: ['--access-logformat'],
    meta: 'STRING',
    kind: 'string',
    default: () => DEFAULT_ACCESS_LOG_FORMAT,
    parse: accessLogFormat,
    help:
      "The access log line, in Gunicorn's format: %(NAME)s atoms are h remote address, l '-', " +
      'u user (Basic auth), t date, r request line, m method, U path, q query string, H protocol, ' +
      "s status, B body bytes, b body bytes or '-', f referer, a user agent, T request time in seconds, " +
      'M in milliseconds, D in microseconds, L in decimal seconds, p <pid>, {Header}i request header, ' +
      "{Header}o response header, {KEY}e environ key. An unknown atom gives '-', %% is a percent sign. " +
      'In values, a double quote gets a backslash and a control character is written \\xHH.',
  },
  errorlog: {
    name: 'errorlog',
    section: 'Logging',
    flags: ['--error-logfile', '--log-file'],
    meta: 'FILE',
    kind: 'string',
    default: () => '-',
    parse: optionalString,
    help: "The error log file to write to; '-' means stderr.",
  },
  capture_output: {
    name: 'capture_output',
    section: 'Logging',
    flags: ['--capture-output'],
    kind: 'bool',
    default: () => false,
    parse: bool,
    help:
      "Send the workers' stdout and stderr (console.log, console.error) to the error log file. " +
      "No effect when the error log is '-'. USR1 reopens it for the workers' output too.",
  },
  statsd_host: {
    name: 'statsd_host',
    section: 'Logging',
    flags: ['--statsd-host'],
    meta: 'HOST:PORT',
    kind: 'string',
    default: (): string | null => null,
    defaultText: 'none: no metrics',
    parse: statsdHost,
    help:
      'Send metrics over UDP to the StatsD server at HOST:PORT, with Gunicorn\'s names so existing ' +
      'dashboards work: gunicorn.requests and gunicorn.request.status.<code> (counters), ' +
      'gunicorn.request.duration (timer, ms), gunicorn.workers (gauge, from the master, when it changes) ' +
      'and gunicorn.log.<warning|error|critical|exception> (counters). Metrics are batched into ' +
      'one datagram per 100 ms or 1400 bytes.',
  },
  statsd_prefix: {
    name: 'statsd_prefix',
    section: 'Logging',
    flags: ['--statsd-prefix'],
    meta: 'PREFIX',
    kind: 'string',
    default: () => '',
    defaultText: 'none',
    parse: (raw: unknown, name: string) => (raw === '' ? '' : (optionalString(raw, name) as string)),
    help: "Put before every metric name, with a dot between them: --statsd-prefix app gives app.gunicorn.requests.",
  },
  dogstatsd_tags: {
    name: 'dogstatsd_tags',
    section: 'Logging',
    flags: ['--dogstatsd-tags'],
    meta: 'TAGS',
    kind: 'string',
    default: () => '',
    defaultText: 'none',
    parse: dogstatsdTags,
    help: "DogStatsD tags added to every metric, comma-separated: 'env:prod,app:shop'.",
  },
  loglevel: {
    name: 'loglevel',
    section: 'Logging',
    flags: ['--log-level'],
    meta: 'LEVEL',
    kind: 'choice',
    choices: LOG_LEVELS,
    default: (): (typeof LOG_LEVELS)[number] => 'info',
    parse: choice(LOG_LEVELS),
    help: 'The granularity of error log output.',
  },
  metrics_bind: {
    name: 'metrics_bind',
    section: 'Logging',
    flags: ['--metrics-bind'],
    meta: 'HOST:PORT',
    kind: 'string',
    default: (): string | null => null,
    defaultText: 'none: no metrics endpoint',
    parse: metricsBind,
    help:
      'Serve metrics in Prometheus text format at http://HOST:PORT/metrics, from the master: ' +
      'ugn_requests_total{status="2xx"...} by status class, ugn_requests_in_flight, the ugn_request_duration_seconds histogram, ' +
      'ugn_worker_restarts_total{reason="timeout|crash|max_requests|reload"}, ugn_worker_rss_bytes{pid} and ugn_workers, ' +
      'summed over the workers, which report every second. Bound once at start (HUP keeps it). ' +
      'Anyone who can reach the address can read them: bind it to a private address.',
  },
  control_socket: {
    name: 'control_socket',
    section: 'Control',
    flags: ['--control-socket'],
    meta: 'PATH',
    kind: 'string',
    default: (): string | null => null,
    defaultText: 'none: no control socket',
    parse: optionalString,
    help:
      'A Unix socket (mode 0600) on which the master takes commands from `ugn ctl --socket PATH`: status, workers N, ' +
      'reload, reopen-logs, shutdown [--graceful]. A stale socket file is replaced; one another master listens on stops the start. ' +
      'Bound once at start (HUP keeps it); removed when the master exits.',
  },
  control_socket_disable: {
    name: 'control_socket_disable',
    section: 'Control',
    flags: ['--no-control-socket'],
    kind: 'bool',
    default: () => false,
    parse: bool,
    help: 'Do not open the control socket, even if control_socket is set (e.g. in the config file).',
  },
  log_format: {
    name: 'log_format',
    section: 'Logging',
    flags: ['--log-format'],
    meta: 'FORMAT',
    kind: 'choice',
    choices: LOG_FORMATS,
    default: (): (typeof LOG_FORMATS)[number] => 'text',
    parse: choice(LOG_FORMATS),
    help:
      "text: the error log in Gunicorn's line format and the access log in --access-logformat. " +
      'json: one JSON object per line for log shippers, from the master and every worker: the error log as ' +
      '{"time" (ISO 8601, UTC), "level", "pid", "message", "exception" (a stack, when there is one)}, ' +
      'the access log as one object per request with every atom under a descriptive key ' +
      '(docs/ARCHITECTURE.md, "The access log"); --access-logformat then only adds its {Header}i, {Header}o and {KEY}e atoms.',
  },
} satisfies Record<string, Setting>

type Table = typeof settings
export type Config = { [K in keyof Table]: ReturnType<Table[K]['default']> }

export function defaults(): Config {
  const out: Record<string, unknown> = {}
  for (const [key, s] of Object.entries(settings)) out[key] = (s as Setting).default()
  return out as Config
}

type EngineSettings = Pick<
  Config,
  | 'keepalive'
  | 'worker_connections'
  | 'limit_request_line'
  | 'limit_request_field_size'
  | 'limit_request_body'
  | 'proxy_protocol'
  | 'header_timeout'
  | 'body_timeout'
  | 'header_map'
  | 'permit_unconventional_http_method'
  | 'http_protocols'
  | 'http2_cleartext'
  | 'http2_max_concurrent_streams'
  | 'http2_initial_window_size'
  | 'http2_max_frame_size'
  | 'http2_max_header_list_size'
>

/** The engine's numeric settings as serverStart's options Int32Array lays them out
 * (src/native/server.rs, O_*); `maxHeaders` is limit_request_fields with 0 made concrete. */
export function engineOptions(cfg: EngineSettings, maxHeaders: number): Int32Array {
  return Int32Array.of(
    Math.round(cfg.keepalive * 1000),
    cfg.worker_connections,
    cfg.limit_request_line,
    maxHeaders,
    cfg.limit_request_field_size,
    PROXY_PROTOCOLS.indexOf(cfg.proxy_protocol),
    Math.round(cfg.header_timeout * 1000),
    Math.round(cfg.body_timeout * 1000),
    cfg.limit_request_body % 2 ** 32,
    Math.floor(cfg.limit_request_body / 2 ** 32),
    HEADER_MAPS.indexOf(cfg.header_map),
    cfg.permit_unconventional_http_method ? 1 : 0,
    (cfg.http_protocols.includes('h1') ? 1 : 0) | (cfg.http_protocols.includes('h2') ? 2 : 0) | (cfg.http_protocols[0] === 'h2' ? 4 : 0),
    cfg.http2_cleartext === 'prior-knowledge' ? 1 : 0,
    cfg.http2_max_concurrent_streams,
    cfg.http2_initial_window_size,
    cfg.http2_max_frame_size,
    cfg.http2_max_header_list_size,
  )
}

/** Refuses an HTTP/2 configuration no connection could use, naming the setting. */
export function checkHttp2(cfg: Pick<Config, 'http_protocols' | 'http2_cleartext' | 'certfile'>): void {
  const h2 = cfg.http_protocols.includes('h2')
  const cleartext = cfg.http2_cleartext !== 'off'
  if (cleartext && !h2) throw new SettingError('http2_cleartext', `${cfg.http2_cleartext} needs h2 in http_protocols (it is ${cfg.http_protocols.join(',')})`)
  if (h2 && cfg.certfile === null && !cleartext) {
    throw new SettingError('http_protocols', 'h2 is served over TLS (set certfile) or, to trusted peers, as h2c (set http2_cleartext to prior-knowledge)')
  }
  if (!cfg.http_protocols.includes('h1') && cfg.certfile === null && !cleartext) {
    throw new SettingError('http_protocols', 'without h1 nothing could be served: h2 needs certfile or http2_cleartext')
  }
}

type TlsSettings = Pick<Config, 'certfile' | 'keyfile' | 'ca_certs' | 'cert_reqs' | 'ciphers'>

/** The TLS settings as the engine's serverStart and checkTls take them. */
export function engineTls(cfg: TlsSettings): TlsArgs {
  return [cfg.certfile ?? '', cfg.keyfile ?? '', cfg.ca_certs ?? '', cfg.cert_reqs, cfg.ciphers ?? '']
}

/** Refuses TLS settings a worker could not serve with, naming the setting: settings that need
 * certfile without it, and files that cannot be read or do not fit together. */
export function checkTls(cfg: TlsSettings): void {
  if (cfg.certfile === null) {
    for (const name of ['keyfile', 'ca_certs', 'ciphers'] as const) {
      if (cfg[name] !== null) throw new SettingError(name, `${JSON.stringify(cfg[name])} is set but certfile is not: TLS needs a certificate`)
    }
    if (cfg.cert_reqs !== 0) throw new SettingError('cert_reqs', `${cfg.cert_reqs} needs TLS: set certfile (and ca_certs)`)
    return
  }
  const problem = native.checkTls(...engineTls(cfg))
  if (problem !== null) throw new SettingError(problem.setting, problem.message)
}

/** The trust settings as the engine's serverStart takes them (src/native/server.rs). */
export function engineTrust(cfg: Pick<Config, 'forwarded_allow_ips' | 'secure_scheme_headers' | 'proxy_allow_ips'>): [string, string, string] {
  const schemeHeaders = Object.entries(cfg.secure_scheme_headers).map(([header, value]) => `${header}=${value}`)
  return [cfg.forwarded_allow_ips.join(','), schemeHeaders.join('\n'), cfg.proxy_allow_ips.join(',')]
}
