// --metrics-bind: the master's Prometheus endpoint, scraped from a running server before and
// after requests, worker restarts of every kind, and bad values.
import test from 'ava'

import { appPath, get, getOnce, isAlive, killAll, PATIENCE_MS, runUgn, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

/** The samples of a scrape: `name{labels}` → value. */
function parse(text) {
  const samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

async function startWithMetrics(app, args) {
  const ugn = await startUgn(app, ['--metrics-bind', '127.0.0.1:0', ...args])
  const [, url] = await ugn.waitForLog(/Metrics at: (\S+)/)
  ugn.scrape = async () => {
    const res = await get(url)
    ugn.contentType = res.headers.get('content-type')
    return parse(await res.text())
  }
  ugn.metricsUrl = url
  return ugn
}

test('requests by status class, in flight, the duration histogram, workers and their memory', async (t) => {
  const ugn = await startWithMetrics(appPath('access.mjs'), ['-w', '2'])
  const before = await waitFor(async () => {
    const s = await ugn.scrape()
    return s.get('ugn_requests_total{status="2xx"}') >= 1 ? s : undefined
  }, PATIENCE_MS, 'the readiness request counted')
  t.is(ugn.contentType, 'text/plain; version=0.0.4; charset=utf-8')
  t.is(before.get('ugn_workers'), 2)
  const pids = ugn.workerPids()
  for (const pid of pids) t.true(before.get(`ugn_worker_rss_bytes{pid="${pid}"}`) > 10_000_000, `rss of ${pid}`)
  for (const reason of ['timeout', 'crash', 'max_requests', 'reload']) t.is(before.get(`ugn_worker_restarts_total{reason="${reason}"}`), 0)

  for (const p of ['/', '/', '/', '/304', '/boom', '/slow?ms=150']) await getOnce(ugn.port, p)
  const delta = (s, name) => s.get(name) - (before.get(name) ?? 0)
  const after = await waitFor(async () => {
    const s = await ugn.scrape()
    return delta(s, 'ugn_request_duration_seconds_count') === 6 ? s : undefined
  }, PATIENCE_MS, 'six more requests in the histogram')
  t.is(delta(after, 'ugn_requests_total{status="2xx"}'), 4)
  t.is(delta(after, 'ugn_requests_total{status="3xx"}'), 1)
  t.is(delta(after, 'ugn_requests_total{status="5xx"}'), 1)
  t.is(delta(after, 'ugn_requests_total{status="4xx"}'), 0)
  t.is(delta(after, 'ugn_request_duration_seconds_bucket{le="+Inf"}'), 6)
  t.is(delta(after, 'ugn_request_duration_seconds_bucket{le="10"}'), 6)
  // The others may take any time on a busy machine; the slow one is above 0.1 s wherever it runs.
  t.true(delta(after, 'ugn_request_duration_seconds_bucket{le="0.1"}') <= 5, 'the slow request is above 0.1 s')
  t.true(delta(after, 'ugn_request_duration_seconds_sum') >= 0.15)
  // Buckets are cumulative.
  t.true(after.get('ugn_request_duration_seconds_bucket{le="0.005"}') <= after.get('ugn_request_duration_seconds_bucket{le="0.01"}'))

  const slow = getOnce(ugn.port, '/slow?ms=3000')
  await waitFor(async () => (await ugn.scrape()).get('ugn_requests_in_flight') === 1, PATIENCE_MS, 'one request in flight')
  t.is((await slow).status, 200)
  await waitFor(async () => (await ugn.scrape()).get('ugn_requests_in_flight') === 0, PATIENCE_MS, 'none in flight')

  t.is((await get(ugn.metricsUrl.replace('/metrics', '/other'))).status, 404)
  t.is(await ugn.stop(), 0)
})

test('worker restarts by reason, and totals that survive the workers that made them', async (t) => {
  const ugn = await startWithMetrics(appPath('block.mjs'), ['-w', '1', '--max-requests', '3', '--timeout', '4', '--graceful-timeout', '5'])
  const restarts = async (reason) => (await ugn.scrape()).get(`ugn_worker_restarts_total{reason="${reason}"}`)
  let last = 0
  const total = async () => {
    const s = await ugn.scrape()
    const n = s.get('ugn_requests_total{status="2xx"}')
    t.true(n >= last, `the total went back from ${last} to ${n}`)
    last = n
    return n
  }

  await waitFor(async () => {
    await getOnce(ugn.port, '/')
    return /Autorestarting worker/.test(ugn.log())
  }, PATIENCE_MS, 'the max-requests restart')
  await waitFor(async () => (await restarts('max_requests')) === 1, PATIENCE_MS, 'a max_requests restart')
  t.true((await total()) >= 3, 'the retired worker\'s requests still count')

  await waitFor(() => ugn.workerPids().length === 1, PATIENCE_MS, 'the replacement')
  const [victim] = ugn.workerPids()
  process.kill(victim, 'SIGKILL')
  await waitFor(async () => (await restarts('crash')) >= 1, PATIENCE_MS, 'a crash restart')

  await waitFor(() => ugn.workerPids().length === 1, PATIENCE_MS, 'the replacement')
  const [old] = ugn.workerPids()
  await waitFor(async () => (await getOnce(ugn.port, '/')).status === 200, PATIENCE_MS, 'a response')
  process.kill(ugn.masterPid, 'SIGHUP')
  await waitFor(async () => (await restarts('reload')) === 1, PATIENCE_MS, 'a reload restart')
  t.false(isAlive(old))

  await waitFor(async () => (await getOnce(ugn.port, '/')).status === 200, PATIENCE_MS, 'a response')
  void getOnce(ugn.port, '/block')
  // On a loaded machine a booting worker may also miss the timeout: at least one.
  await waitFor(async () => (await restarts('timeout')) >= 1, PATIENCE_MS, 'a timeout restart')

  const s = await ugn.scrape()
  t.is(s.get('ugn_worker_restarts_total{reason="max_requests"}'), 1)
  t.true(s.get('ugn_worker_restarts_total{reason="crash"}') >= 1)
  t.is(s.get('ugn_worker_restarts_total{reason="reload"}'), 1)
  // The stuck worker's last request is lost: it could not report again before it was killed.
  t.true((await total()) >= 4)
  t.is(await ugn.stop(), 0)
})

test('TTOU retires a worker without counting a restart', async (t) => {
  const ugn = await startWithMetrics(appPath('hello.mjs'), ['-w', '2'])
  process.kill(ugn.masterPid, 'SIGTTOU')
  // The master drops a worker from ugn_workers in the same step as it counts the restart, if
  // any: the first snapshot with one worker already tells.
  const s = await waitFor(async () => {
    const snapshot = await ugn.scrape()
    return snapshot.get('ugn_workers') === 1 ? snapshot : undefined
  }, PATIENCE_MS, 'one worker')
  for (const reason of ['timeout', 'crash', 'max_requests', 'reload']) t.is(s.get(`ugn_worker_restarts_total{reason="${reason}"}`), 0, reason)
  t.is(await ugn.stop(), 0)
})

for (const bad of ['9100', 'localhost:99999', 'unix:/tmp/x.sock']) {
  test(`--metrics-bind ${bad} exits 2 naming the setting`, async (t) => {
    const r = await runUgn([appPath('hello.mjs'), '--bind', '127.0.0.1:0', '--metrics-bind', bad])
    t.is(r.code, 2, r.stderr)
    t.regex(r.stderr, /Invalid value for metrics_bind: .* is not HOST:PORT/)
  })
}

test('a metrics address already in use stops the start with a clear error', async (t) => {
  const ugn = await startWithMetrics(appPath('hello.mjs'), [])
  const taken = new URL(ugn.metricsUrl).port
  const r = await runUgn([appPath('hello.mjs'), '--bind', '127.0.0.1:0', '--metrics-bind', `127.0.0.1:${taken}`])
  t.is(r.code, 1, r.stderr)
  t.regex(r.stderr, /Cannot serve metrics at 127\.0\.0\.1:\d+: .*EADDRINUSE/)
  t.is(await ugn.stop(), 0)
})
