// The arbiter's lifecycle UNDER LOAD: bounded request loops on 127.0.0.1 (keep-alive clients,
// each on its own agent with one socket, and one-request-per-connection clients with
// `agent: false`) run while the master or a worker gets real signals. Every outcome is
// classified and the figures (requests sent, failures, connection errors, recovery times) go
// to t.log. The tests run serially: each one measures a server alone on the machine's CPUs.
// What is asserted holds on a machine of any speed: outcomes, the order of events, and bounds
// derived from the settings; the load runs by phases of a number of answers, not of seconds.
// The tests of a worker's replacement, HUP and TTIN/TTOU run in both listener modes: workers
// sharing the master's socket, and --reuse-port (a socket per worker slot, which a worker's
// replacement and the new worker of a HUP take over); /proc shows which socket each one has.
import { readFileSync } from 'node:fs'
import http from 'node:http'

import test from 'ava'

import { inheritedSockets, listeningInodes, sharedBy } from './helpers/sockets.mjs'
import { appPath, isAlive, killAll, PATIENCE_MS, procStat, sleep, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const APP = appPath('lifecycle/app.mjs')
/** A request no answer came for: on a quiet machine answers take milliseconds, but a request
 * queued on a worker that is killed or stuck only ends when the worker is gone. */
const REQUEST_TIMEOUT_MS = PATIENCE_MS
/** The load stops itself after this whatever happens; each test stops it once it has seen enough. */
const LOAD_MAX_MS = 10 * PATIENCE_MS
/** Answers each worker gives in a phase of load (before a signal, after it): enough to show it
 * serves in turn with the others, on a machine of any speed. */
const PHASE_ANSWERS = 50

/**
 * One GET. Resolves (never rejects) to an outcome:
 *  ok        200 with a complete body naming the pid of its X-Pid header;
 *  http      a complete response with another status, or a body that does not match;
 *  half      a response was started (status line received) but not completed;
 *  refused   the connection was refused (or failed) before it was established;
 *  conn      the connection was established but closed or reset before any response byte;
 *  timeout   no complete answer within REQUEST_TIMEOUT_MS.
 * `reused` tells whether a keep-alive socket was reused (Node's documented reuse race).
 */
function getOutcome(port, path, agent) {
  return new Promise((resolve) => {
    const sentAt = Date.now()
    let connected = false
    let responded = false
    let done = false
    const finish = (kind, extra = {}) => {
      if (done) return
      done = true
      resolve({ kind, sentAt, at: Date.now(), reused: req.reusedSocket, ...extra })
    }
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      responded = true
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => {
        if (!res.complete) return finish('half', { status: res.statusCode })
        const pid = Number(res.headers['x-pid'])
        const good = res.statusCode === 200 && pid > 0 && body === String(pid)
        finish(good ? 'ok' : 'http', { status: res.statusCode, pid })
      })
      res.on('aborted', () => finish('half', { status: res.statusCode }))
      res.on('error', (err) => finish('half', { status: res.statusCode, code: err.code ?? err.message }))
      res.on('close', () => finish('half', { status: res.statusCode, code: 'closed' }))
    })
    req.on('socket', (socket) => {
      if (req.reusedSocket || !socket.connecting) connected = true
      else socket.once('connect', () => (connected = true))
    })
    req.on('error', (err) => {
      const code = err.code ?? err.message
      if (code === 'ETIMEDOUT_UGN_TEST') finish('timeout', { code })
      else if (responded) finish('half', { code })
      else finish(connected ? 'conn' : 'refused', { code })
    })
    req.setTimeout(REQUEST_TIMEOUT_MS, () => {
      const err = new Error('request timeout')
      err.code = 'ETIMEDOUT_UGN_TEST'
      req.destroy(err)
    })
  })
}

/**
 * Starts `keepAlive` + `fresh` concurrent client loops, each sending one request at a time
 * (with `paceMs` between requests) until stop(), `maxMs` or `maxCount` requests in all.
 * Returns the live outcome list and stop(), which resolves to the figures.
 */
function startLoad(port, { keepAlive = 4, fresh = 4, maxMs = LOAD_MAX_MS, maxCount = 100_000, paceMs = 0, path = '/' } = {}) {
  const results = []
  let running = true
  const started = Date.now()
  const loop = async (i, agent) => {
    while (running && Date.now() - started < maxMs && results.length < maxCount) {
      const r = await getOutcome(port, path, agent)
      r.loop = i
      r.keepAlive = agent !== false
      results.push(r)
      if (paceMs) await sleep(paceMs)
    }
    if (agent) agent.destroy()
  }
  const loops = [
    ...Array.from({ length: keepAlive }, (_, i) => loop(i, new http.Agent({ keepAlive: true, maxSockets: 1 }))),
    ...Array.from({ length: fresh }, (_, i) => loop(keepAlive + i, false)),
  ]
  return {
    results,
    connections: keepAlive + fresh,
    /** The first outcome served by `pid`, if any. */
    firstFrom: (pid) => results.find((r) => r.kind === 'ok' && r.pid === pid),
    /** How many answers `pid` gave that arrived at `from` or later. */
    answersFrom: (pid, from = 0) => results.filter((r) => r.kind === 'ok' && r.pid === pid && r.at >= from).length,
    /** Whether every client loop sent a request at `from` or later. */
    everyLoopSentFrom: (from) => Array.from({ length: keepAlive + fresh }, (_, i) => i).every((i) => results.some((r) => r.loop === i && r.sentAt >= from)),
    async stop() {
      running = false
      await Promise.all(loops)
      return figures(results, Date.now() - started)
    },
  }
}

/** Counts outcomes: sent, ok, failed (everything not ok), connection errors (refused, conn,
 * timeout), half-answered, other statuses, and how many answers each pid gave. */
function figures(results, ms) {
  const count = (kind) => results.filter((r) => r.kind === kind).length
  const byPid = {}
  for (const r of results) if (r.kind === 'ok') byPid[r.pid] = (byPid[r.pid] ?? 0) + 1
  const sent = results.length
  const ok = count('ok')
  const latencies = results.filter((r) => r.kind === 'ok').map((r) => r.at - r.sentAt).sort((a, b) => a - b)
  return {
    sent,
    ok,
    failed: sent - ok,
    connErrors: count('refused') + count('conn') + count('timeout'),
    refused: count('refused'),
    conn: count('conn'),
    timeouts: count('timeout'),
    half: count('half'),
    http: count('http'),
    rps: Math.round((sent * 1000) / Math.max(ms, 1)),
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    maxLatency: latencies.at(-1) ?? 0,
    byPid,
    failures: results.filter((r) => r.kind !== 'ok').map(({ kind, code, status, reused, keepAlive, sentAt, at }) => ({ kind, code, status, reused, keepAlive, sentAt, at })),
  }
}

const summary = (f) =>
  `sent ${f.sent} (${f.rps}/s), ok ${f.ok}, failed ${f.failed}, connection errors ${f.connErrors} ` +
  `(refused ${f.refused}, reset ${f.conn}, timeout ${f.timeouts}), half-answered ${f.half}, other status ${f.http}; ` +
  `latency of ok answers p99 ${f.p99} ms, max ${f.maxLatency} ms; by pid ${JSON.stringify(f.byPid)}`

/** Time-stamps every stderr line of a running ugn from now on (the helper keeps the text). */
function lineClock(ugn) {
  const lines = []
  let buf = ''
  ugn.child.stderr.on('data', (d) => {
    buf += d
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      lines.push({ at: Date.now(), line: buf.slice(0, nl) })
      buf = buf.slice(nl + 1)
    }
  })
  return {
    lines,
    /** The first line matching `regex` logged at or after `t0`. */
    find: (regex, t0 = 0) => lines.find((l) => l.at >= t0 && regex.test(l.line)),
  }
}

/** The master's live children, from /proc (zombies excluded). */
function liveChildren(masterPid) {
  let text = ''
  try {
    text = readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8')
  } catch {}
  return text
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((pid) => isAlive(pid))
    .sort((a, b) => a - b)
}

const bootedPid = (entry) => Number(/Booting worker with pid: (\d+)/.exec(entry.line)[1])
const same = (a, b) => JSON.stringify([...a].sort((x, y) => x - y)) === JSON.stringify([...b].sort((x, y) => x - y))

/** The two ways workers get their listening socket. */
const SHARED = { args: [], perWorker: false }
const REUSE_PORT = { args: ['--reuse-port'], perWorker: true }

/** A test in both modes: the title says which, the function gets the mode. */
const inBothModes = (title, run) => {
  const macro = test.macro({ exec: run, title: (_, mode) => (mode.perWorker ? `--reuse-port: ${title}` : title) })
  test.serial(macro, SHARED)
  test.serial(macro, REUSE_PORT)
}

inBothModes('HUP under load (2 workers): no failed request, no connection error, every worker pid changed', async (t, mode) => {
  const ugn = await startUgn(APP, ['--workers', '2', ...mode.args], { workers: 2 })
  const clock = lineClock(ugn)
  let load
  try {
    const old = ugn.workerPids()
    t.is(old.length, 2)
    const sockets = sharedBy(old)
    t.is(sockets.length, mode.perWorker ? 2 : 1, 'a socket per worker with --reuse-port, else one')
    t.true(same(liveChildren(ugn.masterPid), old), 'the master has exactly the two booted workers')
    load = startLoad(ugn.port, { keepAlive: 4, fresh: 4 })
    await waitFor(() => old.every((pid) => load.answersFrom(pid) >= PHASE_ANSWERS), PATIENCE_MS, 'answers from both workers before the HUP')
    const hupAt = Date.now()
    process.kill(ugn.masterPid, 'SIGHUP')
    await waitFor(() => clock.lines.filter((l) => l.at >= hupAt && /Booting worker/.test(l.line)).length >= 2, PATIENCE_MS, 'two new Booting lines')
    const fresh = clock.lines.filter((l) => l.at >= hupAt && /Booting worker/.test(l.line)).map(bootedPid)
    await waitFor(() => old.every((pid) => !isAlive(pid)), PATIENCE_MS, 'the old workers to exit')
    const oldGoneAt = Date.now()
    await waitFor(
      () => fresh.every((pid) => load.answersFrom(pid, oldGoneAt) >= PHASE_ANSWERS) && load.everyLoopSentFrom(oldGoneAt),
      PATIENCE_MS,
      'answers from both new workers after the old ones left',
    )
    const f = await load.stop()
    const firstNew = Math.min(...fresh.map((pid) => load.firstFrom(pid)?.at ?? Infinity)) - hupAt
    const lastOld = Math.max(...load.results.filter((r) => old.includes(r.pid)).map((r) => r.at)) - hupAt
    t.log(`HUP under load: ${summary(f)}`)
    t.log(`HUP: workers ${old.join(',')} -> ${fresh.join(',')}; first answer from a new worker ${firstNew} ms after HUP, last from an old one ${lastOld} ms after, old workers gone within ${oldGoneAt - hupAt} ms`)
    if (f.failed) t.log('failures:', f.failures.slice(0, 20))

    t.true(load.everyLoopSentFrom(oldGoneAt), 'the load went on across the HUP: every client sent requests after the old workers were gone')
    t.is(f.failed, 0, 'no failed request')
    t.is(f.connErrors, 0, 'no connection error')
    t.is(fresh.length, 2)
    t.true(fresh.every((pid) => !old.includes(pid)))
    t.true(old.every((pid) => !isAlive(pid)), 'old pids gone')
    t.true(same(liveChildren(ugn.masterPid), fresh), `live children ${liveChildren(ugn.masterPid)} are the new workers ${fresh}`)
    for (const pid of fresh) t.truthy(load.firstFrom(pid), `new worker ${pid} served requests`)
    t.true(old.every((pid) => load.results.some((r) => r.kind === 'ok' && r.pid === pid && r.at < hupAt)), 'the old workers served before the HUP')
    t.deepEqual(sharedBy(fresh), sockets, 'the new workers took over the old workers\' sockets')
    t.deepEqual(listeningInodes(ugn.port), sockets, 'and no other socket listens')
  } finally {
    await load?.stop()
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

inBothModes('kill -9 of one worker (of 2) under load: a replacement boots and serves, failures bounded', async (t, mode) => {
  const ugn = await startUgn(APP, ['--workers', '2', ...mode.args], { workers: 2 })
  const clock = lineClock(ugn)
  let load
  try {
    load = startLoad(ugn.port, { keepAlive: 4, fresh: 4 })
    const [victim, survivor] = ugn.workerPids()
    await waitFor(() => load.answersFrom(victim) >= PHASE_ANSWERS && load.answersFrom(survivor) >= PHASE_ANSWERS, PATIENCE_MS, 'answers from both workers')
    const sockets = inheritedSockets([victim, survivor])
    t.truthy(load.firstFrom(victim), 'the victim was serving before the kill')
    const killedAt = Date.now()
    process.kill(victim, 'SIGKILL')
    // The master replaces a dead worker at once, with no setting to bound it by: how soon is
    // this machine's speed, and the deadlines only fail a master that does not replace it.
    const boot = await waitFor(() => clock.find(/Booting worker with pid: \d+/, killedAt), PATIENCE_MS, 'a replacement Booting line')
    const replacement = bootedPid(boot)
    const served = await waitFor(() => load.firstFrom(replacement), PATIENCE_MS, 'the replacement to serve')
    await waitFor(() => load.answersFrom(survivor, killedAt) > 0, PATIENCE_MS, 'the survivor to serve after the kill')
    const f = await load.stop()
    const bootMs = boot.at - killedAt
    const serveMs = served.at - killedAt
    t.log(`kill -9 under load: ${summary(f)}`)
    t.log(`kill -9 of ${victim}: replacement ${replacement} logged Booting after ${bootMs} ms, first answer from it after ${serveMs} ms; ${f.failed} failed (bound: ${load.connections} connections)`)
    if (f.failed) t.log('failures:', f.failures)

    t.false(isAlive(victim))
    t.true(isAlive(survivor))
    t.not(replacement, victim)
    t.is(procStat(replacement)?.ppid, ugn.masterPid, 'the replacement is a child of the master')
    t.true(same(liveChildren(ugn.masterPid), [survivor, replacement]))
    t.regex(ugn.log(), new RegExp(`Worker \\(pid:${victim}\\) was sent SIGKILL!`))
    t.true(f.failed <= load.connections, `${f.failed} failures, at most one per client connection (${load.connections})`)
    t.is(f.failures.filter((r) => r.at < killedAt).length, 0, 'no failure before the kill')
    t.is(f.half + f.http, 0, 'no half-answered or wrong response')
    t.true(load.results.some((r) => r.kind === 'ok' && r.pid === survivor && r.sentAt > killedAt), 'the survivor kept serving')
    t.is(inheritedSockets([replacement]).get(replacement), sockets.get(victim), 'the replacement accepts from the victim\'s socket')
    t.deepEqual(listeningInodes(ugn.port), sharedBy([survivor, replacement]), 'and no other socket listens')
  } finally {
    await load?.stop()
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test.serial('TERM with a 2 s request in flight under light load: it completes with 200, everything exits 0, later requests served or refused', async (t) => {
  const ugn = await startUgn(APP, ['--workers', '2', '--graceful-timeout', '10'], { workers: 2 })
  const workers = ugn.workerPids()
  const load = startLoad(ugn.port, { keepAlive: 2, fresh: 2, paceMs: 20 })
  await waitFor(() => workers.every((pid) => load.answersFrom(pid) > 0), PATIENCE_MS, 'answers from both workers')
  const slowSentAt = Date.now()
  const slow = getOutcome(ugn.port, '/slow', false)
  await ugn.waitForLog(/slow request started/)
  const termAt = Date.now()
  const stopping = ugn.stop('SIGTERM')
  const answer = await slow
  const code = await stopping
  const exitMs = Date.now() - termAt
  // Requests to a stopped server: refused.
  await waitFor(() => load.results.some((r) => r.sentAt > termAt + exitMs), PATIENCE_MS, 'a request sent after the master exited')
  const f = await load.stop()
  const after = load.results.filter((r) => r.sentAt >= termAt)
  const afterCount = (kind) => after.filter((r) => r.kind === kind).length
  t.log(`TERM under light load: ${summary(f)}`)
  t.log(
    `TERM: slow request ${answer.kind} ${answer.status} after ${answer.at - slowSentAt} ms (TERM at +${termAt - slowSentAt} ms); ` +
      `master exited ${code} ${exitMs} ms after TERM; sent after TERM ${after.length}: served ${afterCount('ok')}, refused at connect ${afterCount('refused')}, ` +
      `reset before any byte ${afterCount('conn')}, half-answered ${afterCount('half')}, timeout ${afterCount('timeout')}, other ${afterCount('http')}`,
  )
  if (f.failed) t.log('failures:', f.failures.slice(0, 20))

  t.is(answer.kind, 'ok', 'the slow request completes')
  t.is(answer.status, 200)
  t.true(workers.includes(answer.pid))
  t.true(answer.at - slowSentAt >= 2000, 'the app\'s 2 s wait was not cut short')
  t.is(code, 0, 'the master exits 0')
  await waitFor(() => workers.every((pid) => !isAlive(pid)), PATIENCE_MS, 'the workers to be gone')
  // Workers log this line right before process.exit(0); a worker killed or failing would be
  // reported by the master instead.
  for (const pid of workers) t.regex(ugn.log(), new RegExp(`Worker exiting \\(pid: ${pid}\\)`))
  t.notRegex(ugn.log(), /exited with code|was sent SIG/)
  t.true(after.length > 0, 'requests were sent after TERM')
  t.true(after.filter((r) => r.sentAt > termAt + exitMs).length > 0, 'requests were sent after the master exited')
  t.is(afterCount('half'), 0, 'no half-answered response')
  t.is(afterCount('http'), 0, 'no other status')
  t.is(afterCount('ok') + afterCount('refused'), after.length, 'every request after TERM is served or refused at connect')
  t.is(load.results.filter((r) => r.sentAt < termAt && r.kind !== 'ok').length, 0, 'no failure before TERM')
})

/** --timeout of the stuck-handler test, and what it implies (src/worker.ts, src/arbiter.ts): a
 * worker beats every timeout/4 (at most 1 s), the master reports WORKER TIMEOUT once it has heard
 * nothing for the timeout, sends SIGABRT, and SIGKILL a grace second later. */
const TIMEOUT_S = 2
const BEAT_MS = Math.min(1000, (TIMEOUT_S * 1000) / 4)
/** The WORKER TIMEOUT line comes no sooner than the timeout after the last beat, which came at
 * most a beat before the handler began to spin. */
const TIMEOUT_EARLIEST_MS = TIMEOUT_S * 1000 - BEAT_MS
/** ... and no later than a few timeouts after: the master checks every turn of its loop, but a
 * busy machine may delay that loop, the beats and the log line; 10 s more covers a machine
 * several times slower than a quiet one and still tells --timeout 2 from the 30 s default. */
const TIMEOUT_LATEST_MS = 3 * TIMEOUT_S * 1000 + 10_000

inBothModes('a handler stuck for ever with --timeout 2 (2 workers) under load: the other worker keeps serving, the stuck one is replaced', async (t, mode) => {
  const ugn = await startUgn(APP, ['--workers', '2', '--timeout', String(TIMEOUT_S), ...mode.args], { workers: 2 })
  const clock = lineClock(ugn)
  let load
  try {
    load = startLoad(ugn.port, { keepAlive: 4, fresh: 4 })
    await waitFor(() => ugn.workerPids().every((pid) => load.answersFrom(pid) >= PHASE_ANSWERS), PATIENCE_MS, 'answers from both workers')
    // Pin the stuck request to a known worker: ask on a keep-alive socket who answers, then
    // send /block on that same socket.
    const pinned = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const probe = await getOutcome(ugn.port, '/', pinned)
    t.is(probe.kind, 'ok')
    const stuck = probe.pid
    const [other] = ugn.workerPids().filter((pid) => pid !== stuck)
    const blockedAt = Date.now()
    const blocked = getOutcome(ugn.port, '/block', pinned)
    const spinning = await waitFor(() => clock.find(new RegExp(`blocking in ${stuck}\\b`), blockedAt), PATIENCE_MS, 'the handler to spin')
    const timeoutLine = await waitFor(() => clock.find(new RegExp(`\\[CRITICAL\\] WORKER TIMEOUT \\(pid:${stuck}\\)`), blockedAt), PATIENCE_MS, 'WORKER TIMEOUT')
    await waitFor(() => !isAlive(stuck), PATIENCE_MS, 'the stuck worker to die')
    const deadMs = Date.now() - blockedAt
    const boot = await waitFor(() => clock.find(/Booting worker with pid: \d+/, blockedAt), PATIENCE_MS, 'a replacement Booting line')
    const replacement = bootedPid(boot)
    const served = await waitFor(() => load.firstFrom(replacement), PATIENCE_MS, 'the replacement to serve')
    const f = await load.stop()
    const blockedOutcome = await blocked
    pinned.destroy()
    // The stuck worker may still answer requests queued ahead of /block; the stall starts at its last answer.
    const lastStuck = Math.max(blockedAt, ...load.results.filter((r) => r.kind === 'ok' && r.pid === stuck).map((r) => r.at))
    const stall = load.results.filter((r) => r.at > lastStuck && r.at < served.at)
    const stallOk = stall.filter((r) => r.kind === 'ok')
    t.log(`stuck handler under load: ${summary(f)}`)
    t.log(
      `stuck worker ${stuck}: WORKER TIMEOUT logged ${timeoutLine.at - blockedAt} ms after /block, dead ${deadMs} ms (polled), ` +
        `replacement ${replacement} Booting after ${boot.at - blockedAt} ms, first answer after ${served.at - blockedAt} ms; ` +
        `last answer from the stuck worker ${lastStuck - blockedAt} ms after /block; stall window ${served.at - lastStuck} ms: ${stallOk.length} ok (from ${[...new Set(stallOk.map((r) => r.pid))].join(',')}), ${stall.length - stallOk.length} failed; /block itself: ${blockedOutcome.kind} ${blockedOutcome.code ?? ''}`,
    )
    if (f.failed) t.log('failures:', f.failures)

    t.truthy(timeoutLine)
    const timeoutMs = timeoutLine.at - blockedAt
    t.true(timeoutMs >= TIMEOUT_EARLIEST_MS, `WORKER TIMEOUT ${timeoutMs} ms after /block: not before --timeout ${TIMEOUT_S} ran out`)
    t.true(timeoutMs <= TIMEOUT_LATEST_MS, `WORKER TIMEOUT ${timeoutMs} ms after /block: within ${TIMEOUT_LATEST_MS} ms`)
    t.regex(ugn.log(), new RegExp(`Worker \\(pid:${stuck}\\) was sent SIG(ABRT|KILL)!`))
    t.not(blockedOutcome.kind, 'ok', 'the stuck request gets no normal answer')
    const lateAnswers = load.results.filter((r) => r.kind === 'ok' && r.pid === stuck && r.sentAt > spinning.at)
    t.is(lateAnswers.length, 0, 'the stuck worker answered nothing sent once its handler was spinning')
    t.true(stallOk.length > 0, 'requests were served during the stall')
    t.true(stallOk.every((r) => r.pid === other || r.pid === replacement), 'by the other worker (or the replacement)')
    t.true(stallOk.some((r) => r.pid === other), 'the other worker served during the stall')
    t.true(isAlive(other), 'the other worker was not touched')
    t.true(same(liveChildren(ugn.masterPid), [other, replacement]))
    t.true(served.at > timeoutLine.at, 'the replacement served after the timeout')
    t.true(f.failed <= load.connections, `${f.failed} failures, at most one per client connection (${load.connections})`)
    t.is(f.half + f.http, 0, 'no half-answered or wrong response')
  } finally {
    await load?.stop()
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

inBothModes('TTIN then TTOU under load change the live worker count; no failed request but from a closed --reuse-port socket', async (t, mode) => {
  const ugn = await startUgn(APP, ['--workers', '2', ...mode.args], { workers: 2 })
  const clock = lineClock(ugn)
  let load
  try {
    const first = ugn.workerPids()
    t.true(same(liveChildren(ugn.masterPid), first))
    load = startLoad(ugn.port, { keepAlive: 4, fresh: 4 })
    await waitFor(() => first.every((pid) => load.answersFrom(pid) >= PHASE_ANSWERS), PATIENCE_MS, 'answers from both workers')

    const ttinAt = Date.now()
    process.kill(ugn.masterPid, 'SIGTTIN')
    const boot = await waitFor(() => clock.find(/Booting worker with pid: \d+/, ttinAt), PATIENCE_MS, 'a third Booting line')
    const added = bootedPid(boot)
    await waitFor(() => liveChildren(ugn.masterPid).length === 3, PATIENCE_MS, 'three live children')
    const three = liveChildren(ugn.masterPid)
    const addedServed = await waitFor(() => load.firstFrom(added), PATIENCE_MS, 'the added worker to serve')
    t.is(sharedBy(three).length, mode.perWorker ? 3 : 1, 'the added worker has a socket of its own with --reuse-port')
    t.deepEqual(listeningInodes(ugn.port), sharedBy(three))
    await waitFor(() => three.every((pid) => load.answersFrom(pid, addedServed.at) >= PHASE_ANSWERS), PATIENCE_MS, 'answers from all three workers')

    const ttouAt = Date.now()
    process.kill(ugn.masterPid, 'SIGTTOU')
    await waitFor(() => liveChildren(ugn.masterPid).length === 2, PATIENCE_MS, 'two live children again')
    const removedMs = Date.now() - ttouAt
    const two = liveChildren(ugn.masterPid)
    const [removed] = three.filter((pid) => !two.includes(pid))
    await waitFor(
      () => two.every((pid) => load.answersFrom(pid, ttouAt + removedMs) >= PHASE_ANSWERS) && load.everyLoopSentFrom(ttouAt + removedMs),
      PATIENCE_MS,
      'answers from both remaining workers after TTOU',
    )
    const f = await load.stop()
    const servedBy = (pid, from, to) => load.results.filter((r) => r.kind === 'ok' && r.pid === pid && r.at >= from && r.at <= to).length
    const byTtou = f.failures.filter((r) => r.sentAt >= ttouAt).length
    t.log(`TTIN/TTOU under load: ${summary(f)}`)
    t.log(
      `TTIN: ${first.join(',')} -> ${three.join(',')} (added ${added} Booting after ${boot.at - ttinAt} ms, first answer after ${addedServed.at - ttinAt} ms); ` +
        `TTOU: -> ${two.join(',')} (removed ${removed} gone within ${removedMs} ms, ${byTtou} failures from then on)`,
    )
    if (f.failed) t.log('failures:', f.failures.slice(0, 20))

    t.is(three.length, 3)
    t.true(three.includes(added))
    t.true(first.every((pid) => three.includes(pid)))
    t.is(two.length, 2)
    t.true(first.includes(removed), 'TTOU retires the oldest worker')
    t.false(isAlive(removed))
    t.true(two.includes(added))
    t.is(new Set(ugn.workerPids()).size, 2, 'the log and /proc agree')
    t.true(same(ugn.workerPids(), two))
    t.true(servedBy(removed, ttinAt, ttouAt) > 0, 'the retired worker served until TTOU')
    t.true(two.every((pid) => servedBy(pid, ttouAt + removedMs, Infinity) > 0), 'both remaining workers serve after TTOU')
    t.true(load.everyLoopSentFrom(ttouAt + removedMs), 'the load went on across TTIN and TTOU: every client sent requests after TTOU')
    t.deepEqual(listeningInodes(ugn.port), sharedBy(two), 'the retired worker\'s own socket no longer listens')
    t.is(f.failed - byTtou, 0, 'no failed request before TTOU')
    // A --reuse-port socket closes with its worker, and the kernel resets the connections still
    // queued on it unless net.ipv4.tcp_migrate_req=1 moves them to another socket of the port.
    t.true(byTtou <= (mode.perWorker ? load.connections : 0), `${byTtou} failed requests from TTOU on`)
  } finally {
    await load?.stop()
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
