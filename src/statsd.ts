// A StatsD client with Gunicorn's metrics and names (gunicorn/instrument/statsd.py), so
// dashboards built for Gunicorn keep working: the names stay gunicorn.*, after the user's prefix.
// Metrics are batched, newline-separated as StatsD servers accept them, into one UDP datagram
// per FLUSH_MS or per MAX_DATAGRAM bytes.

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

/** `HOST:PORT`, `[IPV6]:PORT`; the port is required so a mistyped value is refused at start.
 * `minPort` 0 admits port 0 (any free port), for addresses ugn listens on. */
export function parseStatsdHost(text: string, minPort = 1): StatsdAddress | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim())
  if (match === null) return undefined
  const host = match[1] ?? match[2]
  const port = Number(match[3])
  if (port < minPort || port > 65535 || (match[1] !== undefined && !isIPv6(host))) return undefined
  return { host, port }
}

/** Gunicorn's prefix rule: trailing dots collapse into one separator. */
function normalizePrefix(prefix: string): string {
  const stem = prefix.replace(/\.+$/, '')
  return stem === '' ? '' : `${stem}.`
}

export class Statsd {
  /** Gauges and timers waiting to be sent, newline-separated. */
  private pending = ''
  /** Counters are summed until the flush, which a StatsD server cannot tell apart from one
   * datagram per increment, and which keeps a request's cost to a timer and two additions. */
  private readonly counts = new Map<string, number>()
  private requests = 0
  private readonly statuses = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined
  private connected = false
  private readonly socket: Socket
  private readonly prefix: string
  private readonly durationKey: string
  /** DogStatsD tags, after every metric. */
  private readonly tags: string

  constructor(address: StatsdAddress, prefix: string, tags: string) {
    this.prefix = normalizePrefix(prefix)
    this.tags = tags === '' ? '' : `|#${tags}`
    this.durationKey = `${this.prefix}gunicorn.request.duration:`
    this.socket = createSocket(isIPv6(address.host) ? 'udp6' : 'udp4')
    // A StatsD server that is down or unreachable must not fill the error log, nor stop ugn.
    this.socket.on('error', (err) => log.debug(`Error sending message to statsd: ${err.message}`))
    this.socket.unref()
    this.socket.connect(address.port, address.host, () => {
      this.connected = true
      this.flush()
    })
    // The last batch of an exiting process: Node tries a UDP send synchronously first, so it
    // goes out even from the exit event.
    process.on('exit', () => this.flush())
  }

  /** Counts the warning, error, critical and exception lines of this process, logged or not. */
  countLogLines(): void {
    onLogLine((kind) => this.increment(`gunicorn.log.${kind}`))
  }

  gauge(name: string, value: number): void {
    this.add(`${this.prefix}${name}:${value}|g${this.tags}`)
  }

  increment(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1)
    this.schedule()
  }

  /** What Gunicorn's Statsd.access sends for a finished request. */
  request(entry: Pick<AccessEntry, 'statusLine' | 'startTime'>): void {
    this.add(`${this.durationKey}${Math.round((performance.now() - entry.startTime) * 1000) / 1000}|ms${this.tags}`)
    this.requests++
    const status = entry.statusLine
    if (status !== undefined) {
      const code = status.slice(0, 3)
      this.statuses.set(code, (this.statuses.get(code) ?? 0) + 1)
    }
  }

  private add(metric: string): void {
    if (this.pending.length + metric.length + 1 > MAX_DATAGRAM) {
      // Before the socket connects, or if it never does (a name that does not resolve), a full
      // batch is dropped rather than held without bound.
      if (this.connected) this.flush()
      else this.pending = ''
    }
    this.pending = this.pending === '' ? metric : `${this.pending}\n${metric}`
    this.schedule()
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref()
  }

  private flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    // Until the socket is connected (a host name being resolved), metrics wait for the connect
    // callback.
    if (!this.connected) return
    const counters: string[] = []
    const counter = (name: string, n: number) => counters.push(`${this.prefix}${name}:${n}|c|@1.0${this.tags}`)
    if (this.requests > 0) counter('gunicorn.requests', this.requests)
    for (const [code, n] of this.statuses) counter(`gunicorn.request.status.${code}`, n)
    for (const [name, n] of this.counts) counter(name, n)
    this.requests = 0
    this.statuses.clear()
    this.counts.clear()
    const tail = counters.join('\n')
    if (this.pending.length + tail.length + 1 > MAX_DATAGRAM) {
      this.socket.send(this.pending)
      this.pending = ''
    }
    const datagram = this.pending === '' ? tail : tail === '' ? this.pending : `${this.pending}\n${tail}`
    if (datagram !== '') this.socket.send(datagram)
    this.pending = ''
  }
}
