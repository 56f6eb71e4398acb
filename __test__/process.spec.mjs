// The process model: master and workers, signals, worker replacement, several listeners.
import { existsSync, rmSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, get, isAlive, killAll, PATIENCE_MS, procStat, rawRequest, sleep, startUgn, unixGet, waitFor } from './helpers/ugn.mjs'

test.after.always(() => killAll())

// Tests must be declared synchronously, so ::1 is detected from the interface list.
const ipv6 = Object.values(os.networkInterfaces())
  .flat()
  .some((i) => i?.address === '::1')
if (!ipv6) console.log('process.spec: ::1 is not available on this machine; the [::1]:0 bind test is skipped')

const allGone = (pids) => pids.every((pid) => !isAlive(pid))

test('two workers: distinct pids, each a child of the master', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), ['-w', '2'])
  try {
    const pids = ugn.workerPids()
    t.is(pids.length, 2)
    t.not(pids[0], pids[1])
    for (const pid of pids) {
      t.not(pid, ugn.masterPid)
      t.is(procStat(pid)?.ppid, ugn.masterPid, `worker ${pid} is a child of the master`)
    }
    t.is(procStat(ugn.masterPid)?.ppid, process.pid, 'the master is the process we spawned')
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('TERM: an in-flight slow request finishes, then master and workers exit 0', async (t) => {
  const ugn = await startUgn(appPath('stream.mjs'), ['-w', '2', '--graceful-timeout', '15'])
  const workers = ugn.workerPids()
  const inFlight = get(`${ugn.url}/slow?ms=1500`)
  await ugn.waitForLog(/slow request started/)
  const code = ugn.stop('SIGTERM')
  const res = await inFlight
  t.is(res.status, 200)
  t.is(await res.text(), 'slept 1500')
  t.is(await code, 0)
  await waitFor(() => allGone(workers), PATIENCE_MS, 'the workers to be gone')
  t.false(isAlive(ugn.masterPid))
  t.regex(ugn.log(), /Handling signal: term/)
  t.regex(ugn.log(), /Shutting down: Master/)
})

test('TERM: new connections are refused while an in-flight request finishes', async (t) => {
  const ugn = await startUgn(appPath('stream.mjs'), ['--graceful-timeout', '15'])
  const inFlight = get(`${ugn.url}/slow?ms=6000`)
  let finished = false
  inFlight.then(() => (finished = true))
  await ugn.waitForLog(/slow request started/)
  const code = ugn.stop('SIGTERM')
  await ugn.waitForLog(/Handling signal: term/)
  // A request on a new connection each time. Until the worker has taken the signal from the
  // master one may still be served (with Connection: close); from then on it is refused.
  const attempt = () =>
    new Promise((resolve) => {
      http
        .get({ host: '127.0.0.1', port: ugn.port, path: '/late', agent: false }, (r) => resolve(`answered ${r.statusCode}`))
        .on('error', (err) => resolve(`failed: ${err.code}`))
        .setTimeout(PATIENCE_MS / 4, function () {
          this.destroy(new Error('timeout'))
        })
    })
  const late = await waitFor(async () => {
    const r = await attempt()
    return r.startsWith('failed') ? r : undefined
  }, PATIENCE_MS, 'a request on a new connection to be refused')
  t.regex(late, /^failed/, 'a request on a new connection after TERM is not served')
  t.false(finished, 'refused while the in-flight request was still running')
  const res = await inFlight
  t.is(res.status, 200)
  t.is(await code, 0)
})

test('TERM with --graceful-timeout 1: a request that takes too long is cut, and everything exits', async (t) => {
  const ugn = await startUgn(appPath('stream.mjs'), ['--graceful-timeout', '1'])
  const workers = ugn.workerPids()
  const inFlight = get(`${ugn.url}/slow?ms=30000`, { timeout: 25_000 }).then(
    () => 'answered',
    () => 'failed',
  )
  await ugn.waitForLog(/slow request started/)
  t.is(await ugn.stop('SIGTERM'), 0)
  t.is(await inFlight, 'failed')
  await waitFor(() => allGone(workers), PATIENCE_MS, 'the workers to be gone')
  t.pass()
})

for (const signal of ['SIGINT', 'SIGQUIT']) {
  test(`${signal}: quick stop, the in-flight request is not waited for, no worker survives`, async (t) => {
    const ugn = await startUgn(appPath('stream.mjs'), ['-w', '2', '--graceful-timeout', '60'])
    const workers = ugn.workerPids()
    const inFlight = get(`${ugn.url}/slow?ms=30000`, { timeout: 40_000 }).then(
      () => 'answered',
      () => 'failed',
    )
    await ugn.waitForLog(/slow request started/)
    // Bounded well under the 30 s request and the 60 s graceful timeout.
    t.is(await ugn.stop(signal, 10_000), 0)
    t.is(await inFlight, 'failed')
    await waitFor(() => allGone(workers), PATIENCE_MS, 'the workers to be gone')
    t.regex(ugn.log(), new RegExp(`Handling signal: ${signal.slice(3).toLowerCase()}`))
    t.regex(ugn.log(), /Shutting down: Master/)
  })
}

test('a SIGKILLed worker is replaced by a new one', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), ['-w', '2'])
  try {
    const [victim, survivor] = ugn.workerPids()
    process.kill(victim, 'SIGKILL')
    await waitFor(() => ugn.bootedPids().length === 3, PATIENCE_MS, 'a third "Booting worker" line')
    const replacement = ugn.bootedPids()[2]
    t.false([victim, survivor].includes(replacement))
    await waitFor(() => !isAlive(victim), PATIENCE_MS, 'the killed worker to be reaped')
    t.true(isAlive(replacement))
    t.true(isAlive(survivor))
    t.is(procStat(replacement)?.ppid, ugn.masterPid)
    t.deepEqual(ugn.workerPids().sort(), [survivor, replacement].sort())
    await ugn.waitForLog(new RegExp(`Worker \\(pid:${victim}\\) was sent SIGKILL`))
    const res = await get(`${ugn.url}/`)
    t.is(await res.text(), 'Hello, World!')
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('an uncaught exception outside a request kills the worker; the master boots a new one', async (t) => {
  const ugn = await startUgn(appPath('errors.mjs'))
  try {
    const [first] = ugn.workerPids()
    const res = await get(`${ugn.url}/crash-later`)
    t.is(await res.text(), 'crashing soon')
    await waitFor(() => ugn.bootedPids().length === 2, PATIENCE_MS, 'a replacement worker')
    await waitFor(() => !isAlive(first), PATIENCE_MS, 'the crashed worker to be reaped')
    await ugn.waitForLog(/uncaught in a timer \(ugn-test-marker\)/)
    await ugn.waitForLog(new RegExp(`Worker \\(pid:${first}\\) exited with code`))
    const again = await waitFor(async () => {
      try {
        const r = await get(`${ugn.url}/ok`, { timeout: 2000 })
        return r.status === 200 ? r : undefined
      } catch {
        return undefined
      }
    }, PATIENCE_MS, 'the new worker to serve')
    t.is(Number(again.headers.get('x-pid')), ugn.bootedPids()[1])
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('TTIN adds a worker, TTOU removes one', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), ['-w', '1'])
  try {
    const [first] = ugn.workerPids()
    process.kill(ugn.masterPid, 'SIGTTIN')
    await waitFor(() => ugn.bootedPids().length === 2, PATIENCE_MS, 'a second "Booting worker" line')
    await ugn.waitForLog(/Handling signal: ttin/)
    const second = ugn.bootedPids()[1]
    t.not(second, first)
    t.is(procStat(second)?.ppid, ugn.masterPid)
    t.deepEqual(ugn.workerPids().sort(), [first, second].sort())

    process.kill(ugn.masterPid, 'SIGTTOU')
    await ugn.waitForLog(/Handling signal: ttou/)
    await waitFor(() => ugn.workerPids().length === 1, PATIENCE_MS, 'one worker left')
    t.is(ugn.bootedPids().length, 2, 'TTOU does not boot anyone')
    const res = await get(`${ugn.url}/`)
    t.is(res.status, 200)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('workers die with the master (SIGKILL to the master)', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), ['-w', '2'])
  const workers = ugn.workerPids()
  t.is(workers.length, 2)
  process.kill(ugn.masterPid, 'SIGKILL')
  await waitFor(() => allGone(workers), PATIENCE_MS, 'the orphaned workers to exit')
  t.true(allGone(workers))
})

const multi = ipv6 ? test : test.skip
multi('several binds: 127.0.0.1:0, [::1]:0 and a unix socket all answer', async (t) => {
  const sock = path.join(os.tmpdir(), `ugn-test-${process.pid}-${Date.now()}.sock`)
  const ugn = await startUgn(appPath('stream.mjs'), ['--bind', '[::1]:0', '--bind', `unix:${sock}`, '-w', '2'])
  try {
    const lines = ugn.listeners
    t.is(lines.length, 3, `Listening lines: ${lines.join(' ')}`)
    const v4 = lines.find((u) => u.startsWith('http://127.0.0.1:'))
    const v6 = lines.find((u) => u.startsWith('http://[::1]:'))
    const unix = lines.find((u) => u.startsWith('unix:'))
    t.truthy(v4)
    t.truthy(v6)
    t.is(unix, `unix:${sock}`)
    t.not(new URL(v6).port, '0')
    t.true(existsSync(sock))

    const r4 = await get(`${v4}/string`)
    t.is(await r4.text(), 'a string body')
    const r6 = await get(`${v6}/string`)
    t.is(await r6.text(), 'a string body')
    const ru = await unixGet(sock, '/string')
    t.is(ru.status, 200)
    t.is(ru.body, 'a string body')

    // Raw requests on each listener too, so the framing is the same everywhere.
    const raw6 = await rawRequest(0, 'GET /string HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
      connect: { host: '::1', port: Number(new URL(v6).port) },
    })
    t.regex(raw6, /^HTTP\/1\.1 200 OK\r\n/)
    const rawUnix = await rawRequest(0, 'GET /string HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
      connect: { path: sock },
    })
    t.regex(rawUnix, /^HTTP\/1\.1 200 OK\r\n/)
    t.true(rawUnix.endsWith('a string body'))
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
    rmSync(sock, { force: true })
  }
})

test('SERVER_NAME/REMOTE_ADDR on a unix socket listener', async (t) => {
  const sock = path.join(os.tmpdir(), `ugn-test-env-${process.pid}-${Date.now()}.sock`)
  const ugn = await startUgn(appPath('environ.mjs'), ['--bind', `unix:${sock}`])
  try {
    const res = await unixGet(sock, '/u')
    const env = JSON.parse(res.body)
    t.is(env.SERVER_NAME, sock)
    t.is(env.SERVER_PORT, '')
    t.is(env.REMOTE_ADDR, '')
    t.is(env.REMOTE_PORT, '')
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
    rmSync(sock, { force: true })
  }
})

test('ugn.multiprocess is false with one worker', async (t) => {
  const ugn = await startUgn(appPath('environ.mjs'))
  try {
    const env = await (await get(`${ugn.url}/`)).json()
    t.false(env['ugn.multiprocess'])
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
