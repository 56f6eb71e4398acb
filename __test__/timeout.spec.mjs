// --timeout: a worker whose JavaScript thread stops sending heartbeats is killed and replaced.
import test from 'ava'

import { appPath, get, isAlive, killAll, PATIENCE_MS, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

/** The --timeout of these tests. A worker beats every timeout/4 (at most 1 s, src/worker.ts) and
 * the master kills it once it has heard nothing for the timeout (src/arbiter.ts). */
const TIMEOUT_S = 2
const BEAT_MS = Math.min(1000, (TIMEOUT_S * 1000) / 4)
/** A stuck worker dies no sooner than the timeout after its last beat, which came at most a beat
 * before its handler began to spin, after the request was sent ... */
const KILL_EARLIEST_MS = TIMEOUT_S * 1000 - BEAT_MS
/** ... and no later than a few timeouts after (SIGABRT, then SIGKILL a second later): the master
 * checks every turn of its loop, which a busy machine may delay; 10 s more covers a machine several
 * times slower than a quiet one and still tells --timeout 2 from the 30 s default. */
const KILL_LATEST_MS = 3 * TIMEOUT_S * 1000 + 10_000

test('a worker stuck in a handler is killed after --timeout and replaced', async (t) => {
  const ugn = await startUgn(appPath('block.mjs'), ['--workers', '1', '--timeout', String(TIMEOUT_S)])
  try {
    const [stuck] = ugn.workerPids()
    const blockedAt = Date.now()
    const blocked = get(`${ugn.url}/block`, { timeout: KILL_LATEST_MS + PATIENCE_MS }).then(
      (res) => res.status,
      (err) => err.name,
    )
    await waitFor(() => !isAlive(stuck), KILL_LATEST_MS, 'the stuck worker to be killed')
    const deadMs = Date.now() - blockedAt
    t.true(deadMs >= KILL_EARLIEST_MS, `killed ${deadMs} ms after the request: not before --timeout ${TIMEOUT_S} ran out`)
    t.regex(ugn.log(), new RegExp(`\\[CRITICAL\\] WORKER TIMEOUT \\(pid:${stuck}\\)`))
    // The master reaps and logs the exit a moment after the process is gone.
    await ugn.waitForLog(new RegExp(`Worker \\(pid:${stuck}\\) was sent SIG(ABRT|KILL)!`))
    t.not(await blocked, 200, 'the request that hung the worker does not get a normal answer')
    await waitFor(() => ugn.workerPids().length === 1 && ugn.workerPids()[0] !== stuck, PATIENCE_MS, 'a replacement worker')
    const res = await get(`${ugn.url}/`)
    t.is(res.status, 200)
    t.is(res.headers.get('x-pid'), String(ugn.workerPids()[0]))
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

// Idle for three timeouts: a worker that stopped beating would be killed within that. (The
// timeout also runs while a worker boots: --timeout 1 would be too short for a busy machine.)
test('an idle worker keeps beating and is not killed', async (t) => {
  const ugn = await startUgn(appPath('block.mjs'), ['--workers', '1', '--timeout', String(TIMEOUT_S)])
  try {
    const [pid] = ugn.workerPids()
    await new Promise((resolve) => setTimeout(resolve, 3 * TIMEOUT_S * 1000))
    t.true(isAlive(pid))
    t.notRegex(ugn.log(), /WORKER TIMEOUT/)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
