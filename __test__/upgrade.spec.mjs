// USR2: a new master started from the installed code inherits the listening sockets (with
// --reuse-port, the reservation and every worker slot's socket, which the new workers take over);
// after TERM to the old master, the new one is promoted. No request fails on the way.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { listeningInodes, sharedBy } from './helpers/sockets.mjs'
import { appSource, getOnce, isAlive, killAll, PATIENCE_MS, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const upgrade = test.macro({
  title: (title, args) => `${args.length ? `${args.join(' ')}: ` : ''}${title}`,
  exec: async (t, args) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-upgrade-'))
    const app = path.join(dir, 'app.mjs')
    const pidfile = path.join(dir, 'ugn.pid')
    writeFileSync(app, appSource('old'))
    const ugn = await startUgn(app, ['--workers', '2', '--pid', pidfile, ...args], { workers: 2 })
    const listening = () => listeningInodes(ugn.port)
    const sockets = listening()
    let newMaster
    try {
      t.deepEqual(sharedBy(ugn.workerPids()), sockets)
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
      await waitFor(() => existsSync(`${pidfile}.2`), PATIENCE_MS, 'the new master pid file (.2)')
      t.is(readFileSync(`${pidfile}.2`, 'utf8').trim(), String(newMaster))
      await waitFor(() => ugn.bootedPids().length === 4, PATIENCE_MS, 'the new master to boot two workers')
      await waitFor(async () => (await getOnce(ugn.port)).body === 'new', PATIENCE_MS, 'the new code to answer')
      const newWorkers = ugn.bootedPids().slice(2)
      t.deepEqual(sharedBy(newWorkers), sockets, 'the new workers accept from the same sockets')
      t.deepEqual(listening(), sockets, 'and no other socket listens')

      t.is(await ugn.stop('SIGTERM'), 0, 'the old master stops gracefully')
      await waitFor(() => /Master has been promoted\./.test(ugn.log()), PATIENCE_MS, 'the promotion')
      t.is(readFileSync(pidfile, 'utf8').trim(), String(newMaster), 'the pid file names the new master')
      t.false(existsSync(`${pidfile}.2`))
      const promotedAt = results.length
      await waitFor(() => results.length > promotedAt, PATIENCE_MS, 'the load to be answered after the promotion')
      loading = false
      await load

      t.is(results[0].body, 'old', 'the load began on the old code')
      t.is(results.at(-1).body, 'new', 'and went on past the promotion')
      t.deepEqual(results.filter((r) => r.status !== 200), [], 'no failed request')
      t.is((await getOnce(ugn.port)).body, 'new')
      t.deepEqual(listening(), sockets, 'the same sockets listen after the promotion')
      // The promoted master opens a socket for a new slot next to the ones it took over.
      process.kill(newMaster, 'SIGTTIN')
      await waitFor(() => ugn.bootedPids().length === 5, PATIENCE_MS, 'a fifth Booting line')
      t.is(listening().length, args.includes('--reuse-port') ? 3 : 1)
    } finally {
      if (newMaster && isAlive(newMaster)) {
        process.kill(newMaster, 'SIGTERM')
        await waitFor(() => !isAlive(newMaster), PATIENCE_MS, 'the new master to stop')
      }
    }
  },
})

test('USR2 then TERM to the old master: new code, pid file promoted, no failed request', upgrade, [])
test('USR2 then TERM to the old master: new code, pid file promoted, no failed request', upgrade, ['--reuse-port'])
