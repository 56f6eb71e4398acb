// USR2: a new master started from the installed code inherits the listening sockets; after
// TERM to the old master, the new one is promoted. No request fails on the way.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appSource, getOnce, isAlive, killAll, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

test('USR2 then TERM to the old master: new code, pid file promoted, no failed request', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-upgrade-'))
  const app = path.join(dir, 'app.mjs')
  const pidfile = path.join(dir, 'ugn.pid')
  writeFileSync(app, appSource('old'))
  const ugn = await startUgn(app, ['--workers', '2', '--pid', pidfile], { workers: 2 })
  let newMaster
  try {
    t.is(readFileSync(pidfile, 'utf8').trim(), String(ugn.masterPid))
    writeFileSync(app, appSource('new'))
    const results = []
    let loading = true
    const load = (async () => {
      while (loading && results.length < 5000) results.push(await getOnce(ugn.port))
    })()

    process.kill(ugn.masterPid, 'SIGUSR2')
    const [, pid] = await ugn.waitForLog(/Upgrading: new master started with pid (\d+)/)
    newMaster = Number(pid)
    await waitFor(() => existsSync(`${pidfile}.2`), 10_000, 'the new master pid file (.2)')
    t.is(readFileSync(`${pidfile}.2`, 'utf8').trim(), String(newMaster))
    await waitFor(() => ugn.bootedPids().length === 4, 10_000, 'the new master to boot two workers')
    await waitFor(async () => (await getOnce(ugn.port)).body === 'new', 10_000, 'the new code to answer')

    t.is(await ugn.stop('SIGTERM'), 0, 'the old master stops gracefully')
    await waitFor(() => /Master has been promoted\./.test(ugn.log()), 10_000, 'the promotion')
    t.is(readFileSync(pidfile, 'utf8').trim(), String(newMaster), 'the pid file names the new master')
    t.false(existsSync(`${pidfile}.2`))
    await new Promise((resolve) => setTimeout(resolve, 300))
    loading = false
    await load

    t.true(results.length > 20, `${results.length} requests during the upgrade`)
    t.deepEqual(results.filter((r) => r.status !== 200), [], 'no failed request')
    t.is((await getOnce(ugn.port)).body, 'new')
  } finally {
    if (newMaster && isAlive(newMaster)) {
      process.kill(newMaster, 'SIGTERM')
      await waitFor(() => !isAlive(newMaster), 15_000, 'the new master to stop')
    }
  }
})
