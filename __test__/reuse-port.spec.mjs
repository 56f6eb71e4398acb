// --reuse-port: every worker accepts from a TCP socket of its own (SO_REUSEPORT), which the master
// opened for the worker's slot and also holds, while the master's reservation of the address
// never listens; unix sockets stay shared. /proc shows it. The lifecycle under load in this mode
// is in lifecycle-load.spec.mjs, USR2 in upgrade.spec.mjs.
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { listeningInodes, sharedBy, socketInodes } from './helpers/sockets.mjs'
import { appPath, getOnce, killAll, PATIENCE_MS, startUgn, unixGet, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const APP = appPath('lifecycle/app.mjs')

test('--reuse-port (2 workers and a unix socket): a TCP socket per worker, the unix one shared, the reservation not listening, connections spread', async (t) => {
  const unix = path.join(mkdtempSync(path.join(os.tmpdir(), 'ugn-rp-')), 'ugn.sock')
  const ugn = await startUgn(APP, ['--workers', '2', '--reuse-port', '--bind', `unix:${unix}`], { workers: 2 })
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

test('--reuse-port: a HUP to 3 workers adds a socket and keeps the two; a HUP to 1 closes the two idle ones', async (t) => {
  const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'ugn-rp-')), 'ugn.config.mjs')
  writeFileSync(config, 'export const workers = 2\n')
  const ugn = await startUgn(APP, ['-c', config, '--reuse-port'], { workers: 2 })
  /** The sockets listening on the port, once they are exactly those of `count` live workers. */
  const settled = (count, what) =>
    waitFor(() => {
      const listening = listeningInodes(ugn.port)
      const workers = ugn.workerPids()
      return workers.length === count && listening.length === count && JSON.stringify(sharedBy(workers)) === JSON.stringify(listening) && listening
    }, PATIENCE_MS, what)
  try {
    const two = listeningInodes(ugn.port)
    writeFileSync(config, 'export const workers = 3\n')
    process.kill(ugn.masterPid, 'SIGHUP')
    const three = await settled(3, 'three workers on three sockets')
    t.true(two.every((inode) => three.includes(inode)), 'the two sockets stay')

    writeFileSync(config, 'export const workers = 1\n')
    process.kill(ugn.masterPid, 'SIGHUP')
    const one = await settled(1, 'one worker on one socket')
    t.true(three.includes(one[0]), 'one of the three sockets stays')
    t.is((await getOnce(ugn.port)).status, 200)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
