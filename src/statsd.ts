// A StatsD client with Gunicorn's metrics and names (gunicorn/instrument/statsd.py), so
// dashboards built for Gunicorn keep working: the names stay gunicorn.*, after the user's prefix.
// Metrics are batched, newline-separated as StatsD servers accept them, into one UDP datagram
// per FLUSH_MS or per MAX_DATAGRAM bytes: a request adds three short strings and nothing else.

import { createSocket, type Socket } from 'node:dgram'
import { isIPv6 } from 'node:net'

import type { AccessEntry } from './access-log.js'
import { log, onLogLine } from './log.js'

const FLUSH_MS = 100
/** Under a 1500-byte Ethernet MTU once IP and UDP headers are added, so datagrams are not fragmented. */
const MAX_DATAGRAM = 1400

export interface StatsdAddress {
  host: string
  port: number
}

/** `HOST:PORT`, `[IPV6]:PORT`; the port is required so a mistyped value is refused at start. */
export function parseStatsdHost(text: string): StatsdAddress | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim())
  if (match === null) return undefined
  const host = match[1] ?? match[2]
  const port = Number(match[3])
  if (port < 1 || port > 65535 || (match[1] !== undefined && !isIPv6(host))) return undefined
  return { host, port }
}

/** Gunicorn's prefix rule: trailing dots collapse into one separator. */
function normalizePrefix(prefix: string): string {
  const stem = prefix.replace(/\.+$/, '')
  return stem === '' ? '' : `${stem}.`
}

export class Statsd {
  private pending = ''
  private timer: NodeJS.Timeout | undefined
  private connected = false
  private readonly socket: Socket
  private readonly prefix: string

  constructor(address: StatsdAddress, prefix: string) {
    this.prefix = normalizePrefix(prefix)
    this.socket = createSocket(isIPv6(address.host) ? 'udp6' : 'udp4')
    // A StatsD server that is down or unreachable must not fill the error log, nor stop ugn.
    this.socket.on('error', (err) => log.debug(`Error sending message to statsd: ${err.message}`))
    this.socket.unref()
    this.socket.connect(address.port, address.host, () => {
      this.connected = true
      this.flush()
    })
  }

  /** Counts the warning, error, critical and exception lines of this process, logged or not. */
  countLogLines(): void {
    onLogLine((kind) => this.increment(`gunicorn.log.${kind}`))
  }

  gauge(name: string, value: number): void {
    this.add(`${this.prefix}${name}:${value}|g`)
  }

  increment(name: string, value = 1): void {
    this.add(`${this.prefix}${name}:${value}|c|@1.0`)
  }

  timing(name: string, ms: number): void {
    this.add(`${this.prefix}${name}:${Math.round(ms * 1000) / 1000}|ms`)
  }

  /** What Gunicorn's Statsd.access sends for a finished request. */
  request(entry: Pick<AccessEntry, 'statusLine' | 'startTime'>): void {
    this.timing('gunicorn.request.duration', performance.now() - entry.startTime)
    this.increment('gunicorn.requests')
    const status = entry.statusLine
    if (status !== undefined) this.increment(`gunicorn.request.status.${status.slice(0, 3)}`)
  }

  private add(metric: string): void {
    if (this.pending.length + metric.length + 1 > MAX_DATAGRAM) {
      // Before the socket connects, or if it never does (a name that does not resolve), a full
      // batch is dropped rather than held without bound.
      if (this.connected) this.flush()
      else this.pending = ''
    }
    this.pending = this.pending === '' ? metric : `${this.pending}\n${metric}`
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref()
  }

  private flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    // Until the socket is connected (a host name being resolved), metrics wait for the connect
    // callback.
    if (!this.connected || this.pending === '') return
    this.socket.send(this.pending)
    this.pending = ''
  }
}
