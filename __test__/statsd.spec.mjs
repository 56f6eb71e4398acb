// StatsD metrics received on a real UDP socket, with Gunicorn's names and formats; and
// --capture-output, which sends the workers' stdout and stderr to the error log file.
import { spawn } from 'node:child_process'
import dgram from 'node:dgram'
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, CLI, getOnce, killAll, PATIENCE_MS, ROOT, runUgn, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const dirs = []
test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A StatsD server: every datagram received, and the metrics in them, one per line. */
async function statsdServer(t) {
  const socket = dgram.createSocket('udp4')
  const datagrams = []
  socket.on('message', (msg) => datagrams.push(msg.toString()))
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve))
  t.teardown(() => socket.close())
  return {
    address: `127.0.0.1:${socket.address().port}`,
    datagrams,
    metrics: () => datagrams.flatMap((d) => d.split('\n')),
  }
}

test('requests, status codes, durations, the workers gauge and log counters, after a prefix', async (t) => {
  const statsd = await statsdServer(t)
  const ugn = await startUgn(appPath('access.mjs'), ['--statsd-host', statsd.address, '--statsd-prefix', 'app..', '-w', '2'], {
    ready: false,
  })
  for (const p of ['/', '/', '/304', '/boom']) await getOnce(ugn.port, p)
  // The server's measure of a request lies within the client's: from before it was sent to
  // after its answer arrived.
  const slowSent = performance.now()
  await getOnce(ugn.port, '/slow?ms=120')
  const slowClientMs = performance.now() - slowSent
  // Counters are summed over each batch: what counts is the total.
  const count = (name) =>
    statsd
      .metrics()
      .map((m) => new RegExp(`^app\\.gunicorn\\.${name.replaceAll('.', '\\.')}:(\\d+)\\|c\\|@1\\.0$`).exec(m))
      .reduce((sum, m) => sum + (m === null ? 0 : Number(m[1])), 0)
  await waitFor(() => count('requests') === 5, PATIENCE_MS, '5 request counters')
  t.is(count('request.status.200'), 3)
  t.is(count('request.status.304'), 1)
  t.is(count('request.status.500'), 1)
  t.true(count('log.error') >= 1, 'the failing request is logged as an error and counted')
  const durations = statsd.metrics().filter((m) => m.startsWith('app.gunicorn.request.duration:')).map((m) => /^[^:]+:([\d.]+)\|ms$/.exec(m)[1])
  t.is(durations.length, 5)
  // Rounding: the server may report whole milliseconds.
  t.true(durations.some((ms) => Number(ms) >= 120 && Number(ms) <= slowClientMs + 1), `${durations.join(' ')}; the client waited ${slowClientMs.toFixed(1)} ms`)
  t.true(statsd.metrics().includes('app.gunicorn.workers:2|g'))
  // Batched: fewer datagrams than metrics.
  t.true(statsd.datagrams.length < statsd.metrics().length, statsd.datagrams.join('\n---\n'))
  t.is(await ugn.stop(), 0)
})

test('without a prefix, the names are Gunicorn\'s own', async (t) => {
  const statsd = await statsdServer(t)
  const ugn = await startUgn(appPath('hello.mjs'), ['--statsd-host', statsd.address], { ready: false })
  await getOnce(ugn.port, '/')
  await waitFor(() => statsd.metrics().includes('gunicorn.requests:1|c|@1.0'), PATIENCE_MS, 'the request counter')
  t.true(statsd.metrics().includes('gunicorn.request.status.200:1|c|@1.0'))
  t.true(statsd.metrics().includes('gunicorn.workers:1|g'))
  t.is(await ugn.stop(), 0)
})

test('--dogstatsd-tags follow every metric', async (t) => {
  const statsd = await statsdServer(t)
  const ugn = await startUgn(appPath('hello.mjs'), ['--statsd-host', statsd.address, '--dogstatsd-tags', 'env:test,app:x'], { ready: false })
  await getOnce(ugn.port, '/')
  await waitFor(() => statsd.metrics().includes('gunicorn.requests:1|c|@1.0|#env:test,app:x'), PATIENCE_MS, 'the tagged request counter')
  t.true(statsd.metrics().includes('gunicorn.workers:1|g|#env:test,app:x'))
  t.true(statsd.metrics().some((m) => /^gunicorn\.request\.duration:[\d.]+\|ms\|#env:test,app:x$/.test(m)))
  t.is(await ugn.stop(), 0)
})

test('a worker that exits sends its last batch first', async (t) => {
  const statsd = await statsdServer(t)
  const ugn = await startUgn(appPath('hello.mjs'), ['--statsd-host', statsd.address, '--max-requests', '2'], { ready: false })
  await getOnce(ugn.port, '/')
  await getOnce(ugn.port, '/')
  await ugn.waitForLog(/Worker exiting/)
  const requests = () => statsd.metrics().filter((m) => m.startsWith('gunicorn.requests:')).reduce((sum, m) => sum + Number(/:(\d+)\|/.exec(m)[1]), 0)
  await waitFor(() => requests() === 2, 2000, 'both requests counted')
  t.pass()
  await ugn.stop()
})

for (const bad of ['nonsense', 'localhost:99999', 'unix:///tmp/statsd.sock', '[nope]:8125']) {
  test(`--statsd-host ${bad} exits 2 naming the setting and what is allowed`, async (t) => {
    const r = await runUgn([appPath('hello.mjs'), '--bind', '127.0.0.1:0', '--statsd-host', bad])
    t.is(r.code, 2, r.stderr)
    t.regex(r.stderr, /Invalid value for statsd_host: .* is not HOST:PORT/)
    t.notRegex(r.stderr, /Listening at/)
  })
}

/** ugn with its error log in a file, where startUgn cannot read it: the port comes from the
 * file. Its own stdout and stderr are collected. */
async function startLogged(t, args) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-capture-'))
  dirs.push(dir)
  const file = path.join(dir, 'error.log')
  const child = spawn(process.execPath, [CLI, appPath('console.mjs'), '--bind', '127.0.0.1:0', '--error-logfile', file, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  t.teardown(() => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const read = () => {
    try {
      return readFileSync(file, 'utf8')
    } catch {
      return ''
    }
  }
  await waitFor(() => /Listening at: http:\/\/127\.0\.0\.1:\d+/.test(read()), PATIENCE_MS, 'Listening at')
  const port = Number(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(read())[1])
  return {
    port,
    file,
    child,
    read,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}

test('--capture-output: console.log and console.error of the app land in the error log file', async (t) => {
  const ugn = await startLogged(t, ['--capture-output'])
  await waitFor(async () => (await getOnce(ugn.port, '/x')).status === 200, PATIENCE_MS, 'a response')
  await waitFor(() => ugn.read().includes('request /x: stderr'), PATIENCE_MS, 'the request lines')
  const log = ugn.read()
  t.regex(log, /^imported: stdout$/m)
  t.regex(log, /^imported: stderr$/m)
  t.regex(log, /^request \/x: stdout$/m)
  t.regex(log, /\[INFO\] Booting worker/)
  t.is(await ugn.stop(), 0)
  t.is(ugn.output(), '')
})

test('--capture-output follows the error log when USR1 reopens it after a rotation', async (t) => {
  const ugn = await startLogged(t, ['--capture-output'])
  await waitFor(async () => (await getOnce(ugn.port, '/before')).status === 200, PATIENCE_MS, 'a response')
  renameSync(ugn.file, `${ugn.file}.1`)
  ugn.child.kill('SIGUSR1')
  await waitFor(() => /Handling signal: usr1/.test(readFileSync(`${ugn.file}.1`, 'utf8')), PATIENCE_MS, 'the USR1 line')
  // The master reopens at once, its workers when the signal it sends them arrives.
  await waitFor(
    async () => {
      await getOnce(ugn.port, '/after')
      return ugn.read().includes('request /after: stdout')
    },
    PATIENCE_MS,
    'output in the new file',
  )
  t.regex(readFileSync(`${ugn.file}.1`, 'utf8'), /request \/before: stdout/)
  t.is(await ugn.stop(), 0)
})

test("without --capture-output, the app writes to the master's stdout and stderr", async (t) => {
  const ugn = await startLogged(t, [])
  await waitFor(async () => (await getOnce(ugn.port, '/x')).status === 200, PATIENCE_MS, 'a response')
  await waitFor(() => ugn.output().includes('request /x: stderr'), PATIENCE_MS, 'the request lines')
  t.regex(ugn.output(), /imported: stdout/)
  t.notRegex(ugn.read(), /imported|request \/x/)
  t.is(await ugn.stop(), 0)
})
