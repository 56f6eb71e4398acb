// --metrics-bind: the master answers GET /metrics in Prometheus' text format (0.0.4) with the
// counters every worker reports (src/worker-stats.ts) summed, and its own restart counts.

import { createServer, type Server } from 'node:http'

import { DURATION_BUCKETS, STATUS_CLASSES, type WorkerCounts } from './worker-stats.js'

export const RESTART_REASONS = ['timeout', 'crash', 'max_requests', 'reload'] as const
export type RestartReason = (typeof RESTART_REASONS)[number]

/** What one scrape shows. */
export interface MetricsSnapshot {
  /** Counters summed over every worker this master ran, exited ones included. */
  counts: WorkerCounts
  /** In flight in the live workers, as of their last report. */
  inFlight: number
  restarts: Record<RestartReason, number>
  workers: { pid: number; rss: number }[]
}

/** A number as Prometheus writes one. */
function value(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN'
}

export function renderMetrics(s: MetricsSnapshot): string {
  const out: string[] = []
  const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  family('ugn_requests_total', 'counter', 'Requests the workers finished, by status class (none: the client left before the app answered).')
  STATUS_CLASSES.forEach((cls, i) => out.push(`ugn_requests_total{status="${cls}"} ${value(s.counts.statuses[i])}`))
  family('ugn_requests_in_flight', 'gauge', 'Requests being handled, as of each worker\'s last report (every second).')
  out.push(`ugn_requests_in_flight ${value(s.inFlight)}`)
  family('ugn_request_duration_seconds', 'histogram', 'Time from the request reaching JavaScript to the end of its response.')
  let cumulative = 0
  DURATION_BUCKETS.forEach((le, i) => {
    cumulative += s.counts.buckets[i]
    out.push(`ugn_request_duration_seconds_bucket{le="${le}"} ${value(cumulative)}`)
  })
  cumulative += s.counts.buckets[DURATION_BUCKETS.length]
  out.push(`ugn_request_duration_seconds_bucket{le="+Inf"} ${value(cumulative)}`)
  out.push(`ugn_request_duration_seconds_sum ${value(s.counts.durationSum)}`)
  out.push(`ugn_request_duration_seconds_count ${value(cumulative)}`)
  family('ugn_worker_restarts_total', 'counter', 'Workers replaced, by reason: timeout (no heartbeat), crash (any other unplanned exit), max_requests, reload (HUP, --reload).')
  for (const reason of Object.keys(s.restarts) as RestartReason[]) out.push(`ugn_worker_restarts_total{reason="${reason}"} ${value(s.restarts[reason])}`)
  family('ugn_worker_rss_bytes', 'gauge', 'Resident memory of each live worker, as of its last report.')
  for (const w of s.workers) out.push(`ugn_worker_rss_bytes{pid="${w.pid}"} ${value(w.rss)}`)
  family('ugn_workers', 'gauge', 'Worker processes alive.')
  out.push(`ugn_workers ${s.workers.length}`)
  return `${out.join('\n')}\n`
}

/** Serves GET /metrics (and HEAD) at host:port; resolves to the address once listening. */
export function serveMetrics(host: string, port: number, snapshot: () => MetricsSnapshot): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found: metrics are at /metrics\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('Method Not Allowed\n')
      return
    }
    const body = renderMetrics(snapshot())
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  // A scraper keeps its connection alive between scrapes; the master must still exit at once.
  server.keepAliveTimeout = 5000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : port
      const shown = host.includes(':') ? `[${host}]` : host
      resolve({ server, url: `http://${shown}:${bound}/metrics` })
    })
  })
}
