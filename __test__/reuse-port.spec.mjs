// --reuse-port: every worker accepts from a TCP socket of its own (SO_REUSEPORT), which the master
// opened for the worker's slot and also holds, while the master's reservation of the address
// never listens; unix sockets stay shared. /proc shows it. The lifecycle under load in this mode
// is in lifecycle-load.spec.mjs, USR2 in upgrade.spec.mjs.
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { listeningInodes, sharedBy, socketInodes } from './helpers/sockets.mjs'
import { appPath, getOnce, killAll, startUgn, unixGet } from './helpers/ugn.mjs'

test.after.always(killAll)

test('--reuse-port (2 workers and a unix socket): a TCP socket per worker, the unix one shared, the reservation not listening, connections spread', async (t) => {
  const unix = path.join(mkdtempSync(path.join(os.tmpdir(), 'ugn-rp-')), 'ugn.sock')
  const ugn = await startUgn(appPath('lifecycle/app.mjs'), ['--workers', '2', '--reuse-port', '--bind', `unix:${unix}`], { workers: 2 })
  try {
    const workers = ugn.workerPids()
    const own = sharedBy(workers)
    t.is(own.length, 2, `each worker has its own TCP socket: ${own}`)
    t.deepEqual(listeningInodes(ugn.port), own, 'exactly the workers\' sockets listen on the port')
    t.is(sharedBy(workers, 4).length, 1, 'the unix socket is shared')
    const master = new Set(socketInodes(ugn.masterPid).values())
    t.true(own.every((inode) => master.has(inode)), 'the master holds every worker socket, so it outlives the worker')

    const byPid = {}
    for (let i = 0; i < 200; i++) {
      const { body } = await getOnce(ugn.port)
      byPid[body] = (byPid[body] ?? 0) + 1
    }
    t.log(`200 new connections went ${JSON.stringify(byPid)}`)
    t.true(workers.every((pid) => byPid[pid] > 0), 'both workers answered')
    t.is((await unixGet(unix)).status, 200)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
