// --max-requests: a worker retires gracefully after its quota and a fresh one takes over,
// without a failed request, even when a new connection arrives as the old worker stops.
import test from 'ava'

import { appPath, getOnce, killAll, startUgn } from './helpers/ugn.mjs'

test.after.always(killAll)

test('workers retire after --max-requests (+ jitter) and no request fails', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), ['--workers', '1', '--max-requests', '5', '--max-requests-jitter', '2'])
  try {
    const statuses = []
    for (let i = 0; i < 40; i++) statuses.push((await getOnce(ugn.port)).status)
    t.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'every request answered 200',
    )
    // The readiness probe counts too; 41 requests at 5 to 7 per worker need at least 6 workers.
    t.true(ugn.bootedPids().length >= 6, `booted ${ugn.bootedPids().length} workers`)
    t.regex(ugn.log(), /Autorestarting worker after current request \(([5-7]) requests served\)/)
    for (const m of ugn.log().matchAll(/\((\d+) requests served\)/g)) t.true(Number(m[1]) >= 5 && Number(m[1]) <= 7)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
