// --timeout: a worker whose JavaScript thread stops sending heartbeats is killed and replaced.
import test from 'ava'

import { appPath, get, isAlive, killAll, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

test('a worker stuck in a handler is killed after --timeout and replaced', async (t) => {
  const ugn = await startUgn(appPath('block.mjs'), ['--workers', '1', '--timeout', '2'])
  try {
    const [stuck] = ugn.workerPids()
    const blocked = get(`${ugn.url}/block`, { timeout: 15_000 }).then(
      (res) => res.status,
      (err) => err.name,
    )
    await waitFor(() => !isAlive(stuck), 10_000, 'the stuck worker to be killed')
    t.regex(ugn.log(), new RegExp(`\\[CRITICAL\\] WORKER TIMEOUT \\(pid:${stuck}\\)`))
    // The master reaps and logs the exit a moment after the process is gone.
    await ugn.waitForLog(new RegExp(`Worker \\(pid:${stuck}\\) was sent SIG(ABRT|KILL)!`))
    t.not(await blocked, 200, 'the request that hung the worker does not get a normal answer')
    await waitFor(() => ugn.workerPids().length === 1 && ugn.workerPids()[0] !== stuck, 10_000, 'a replacement worker')
    const res = await get(`${ugn.url}/`)
    t.is(res.status, 200)
    t.is(res.headers.get('x-pid'), String(ugn.workerPids()[0]))
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('an idle worker keeps beating and is not killed', async (t) => {
  const ugn = await startUgn(appPath('block.mjs'), ['--workers', '1', '--timeout', '1'])
  try {
    const [pid] = ugn.workerPids()
    await new Promise((resolve) => setTimeout(resolve, 3500))
    t.true(isAlive(pid))
    t.notRegex(ugn.log(), /WORKER TIMEOUT/)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
