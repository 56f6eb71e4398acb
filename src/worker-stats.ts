// Each worker's counters, as the master reads them for --metrics-bind and the control socket.
// A worker counts into a Float64Array (a request costs a few additions) and copies it once a
// second, and when it exits, into a small file the master created for it and holds open
// (unlinked at once, so nothing stays on disk). The master reads that file only when asked,
// with one pread per worker (docs/ARCHITECTURE.md, "Metrics and the control socket").

import { closeSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type { AccessEntry } from './access-log.js'

/** Upper bounds of the request duration histogram, in seconds (Prometheus' defaults). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const
/** Status classes, by the first digit of the status; `none` when the app never answered. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'] as const

/** Why a worker exited, as it tells the master. */
export const EXIT_MAX_REQUESTS = 1

// The layout: a sequence number at both ends, so a read that overlapped a write is retried.
const SEQ_HEAD = 0
const REQUESTS = 1
const STATUS = 2
const IN_FLIGHT = STATUS + STATUS_CLASSES.length
const RSS = IN_FLIGHT + 1
const EXIT_REASON = RSS + 1
const DURATION_SUM = EXIT_REASON + 1
const BUCKETS = DURATION_SUM + 1
const SEQ_TAIL = BUCKETS + DURATION_BUCKETS.length + 1
const SLOTS = SEQ_TAIL + 1

/** What one worker reported last. Counters only grow while the worker lives. */
export interface WorkerCounts {
  requests: number
  /** By STATUS_CLASSES. */
  statuses: number[]
  inFlight: number
  rss: number
  exitReason: number
  durationSum: number
  /** Requests per bucket of DURATION_BUCKETS, the last one above them all (not cumulative). */
  buckets: number[]
}

export function emptyCounts(): WorkerCounts {
  return {
    requests: 0,
    statuses: STATUS_CLASSES.map(() => 0),
    inFlight: 0,
    rss: 0,
    exitReason: 0,
    durationSum: 0,
    buckets: [...DURATION_BUCKETS, Infinity].map(() => 0),
  }
}

/** Adds the counters of `from` (not its gauges) into `into`. */
export function addCounts(into: WorkerCounts, from: WorkerCounts): void {
  into.requests += from.requests
  into.durationSum += from.durationSum
  from.statuses.forEach((n, i) => (into.statuses[i] += n))
  from.buckets.forEach((n, i) => (into.buckets[i] += n))
}

/** The worker's side: counts requests, and reports through the file at `fd`. */
export class WorkerStats {
  private readonly values = new Float64Array(SLOTS)
  private readonly bytes = new Uint8Array(this.values.buffer)

  constructor(
    private readonly fd: number,
    private readonly inFlight: () => number,
  ) {}

  /** Called by the dispatcher as each request ends (the shape of Statsd.request). */
  request(entry: Pick<AccessEntry, 'statusLine' | 'startTime'>): void {
    const v = this.values
    v[REQUESTS]++
    const first = entry.statusLine === undefined ? 0 : entry.statusLine.charCodeAt(0) - 48
    v[STATUS + (first >= 1 && first <= 5 ? first - 1 : 5)]++
    const seconds = (performance.now() - entry.startTime) / 1000
    v[DURATION_SUM] += seconds
    let bucket = 0
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]) bucket++
    v[BUCKETS + bucket]++
  }

  /** Reports every `ms` from now on, and once more as the process exits. */
  start(ms: number): void {
    this.report()
    setInterval(() => this.report(), ms).unref()
    process.on('exit', () => this.report())
  }

  /** Tells the master why this worker is about to exit. */
  exiting(reason: number): void {
    this.values[EXIT_REASON] = reason
    this.report()
  }

  private report(): void {
    const v = this.values
    v[IN_FLIGHT] = this.inFlight()
    v[RSS] = process.memoryUsage.rss()
    v[SEQ_HEAD]++
    v[SEQ_TAIL] = v[SEQ_HEAD]
    try {
      writeSync(this.fd, this.bytes, 0, this.bytes.length, 0)
    } catch {}
  }
}

let created = 0

/** The master's side: a new, empty file for a worker, open for reading and writing, and
 * already unlinked. On tmpfs where there is one, so the writes never reach a disk; created
 * exclusively (O_EXCL does not follow a planted symlink). */
export function openStatsFile(): number {
  let base = os.tmpdir()
  try {
    if (statSync('/dev/shm').isDirectory()) base = '/dev/shm'
  } catch {}
  for (let attempt = 0; ; attempt++) {
    const file = path.join(base, `ugn-stats-${process.pid}-${++created}-${Math.random().toString(36).slice(2, 8)}`)
    let fd: number
    try {
      fd = openSync(file, 'wx+', 0o600)
    } catch (err) {
      // /dev/shm may be there but not writable (a container): fall back to the temp directory.
      if (attempt > 0 || base === os.tmpdir()) throw err
      base = os.tmpdir()
      continue
    }
    unlinkSync(file)
    return fd
  }
}

/** A worker's last report; all zero before its first. */
export function readCounts(fd: number): WorkerCounts {
  const values = new Float64Array(SLOTS)
  const bytes = new Uint8Array(values.buffer)
  for (let attempt = 0; attempt < 5; attempt++) {
    let n = 0
    try {
      n = readSync(fd, bytes, 0, bytes.length, 0)
    } catch {
      break
    }
    if (n < bytes.length) return emptyCounts()
    if (values[SEQ_HEAD] === values[SEQ_TAIL]) break
  }
  return {
    requests: values[REQUESTS],
    statuses: STATUS_CLASSES.map((_, i) => values[STATUS + i]),
    inFlight: values[IN_FLIGHT],
    rss: values[RSS],
    exitReason: values[EXIT_REASON],
    durationSum: values[DURATION_SUM],
    buckets: [...DURATION_BUCKETS, Infinity].map((_, i) => values[BUCKETS + i]),
  }
}

export function closeStats(fd: number): void {
  try {
    closeSync(fd)
  } catch {}
}
