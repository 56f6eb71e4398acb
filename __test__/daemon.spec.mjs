// --daemon: the command returns at once; the master lives on in its own session, writes its
// pid file and error log, serves, stops its workers on WINCH and brings them back on HUP.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, get, isAlive, PATIENCE_MS, runUgn, waitFor } from './helpers/ugn.mjs'

const read = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : '')
const sessionOf = (pid) => Number(execFileSync('ps', ['-o', 'sid=', '-p', String(pid)]).toString().trim())

test('--daemon detaches, serves, obeys WINCH/HUP and TERM through its pid file', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-daemon-'))
  const pidfile = path.join(dir, 'ugn.pid')
  const logfile = path.join(dir, 'error.log')
  const launched = await runUgn(
    [appPath('hello.mjs'), '--daemon', '--pid', pidfile, '--error-logfile', logfile, '--bind', '127.0.0.1:0', '--workers', '2'],
  )
  t.is(launched.code, 0, 'the launcher returns at once with 0')
  let master
  try {
    await waitFor(() => read(pidfile).trim() !== '', PATIENCE_MS, 'the pid file')
    master = Number(read(pidfile))
    t.true(isAlive(master))
    t.not(sessionOf(master), sessionOf(process.pid), 'the master runs in a session of its own')
    await waitFor(() => (read(logfile).match(/Booting worker/g) ?? []).length === 2, PATIENCE_MS, 'two workers booted')
    const port = Number(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(read(logfile))[1])
    t.is((await get(`http://127.0.0.1:${port}/`)).status, 200)

    process.kill(master, 'SIGWINCH')
    await waitFor(() => (read(logfile).match(/Worker exiting/g) ?? []).length === 2, PATIENCE_MS, 'workers stopped by WINCH')
    t.true(isAlive(master), 'the master stays')
    process.kill(master, 'SIGHUP')
    await waitFor(() => (read(logfile).match(/Booting worker/g) ?? []).length === 4, PATIENCE_MS, 'workers back after HUP')
    await waitFor(async () => {
      try {
        return (await get(`http://127.0.0.1:${port}/`)).status === 200
      } catch {
        return false
      }
    }, PATIENCE_MS, 'serving again')

    process.kill(master, 'SIGTERM')
    await waitFor(() => !isAlive(master), PATIENCE_MS, 'the master to exit')
    t.false(existsSync(pidfile), 'the pid file is removed')
    t.regex(read(logfile), /Shutting down: Master/)
  } finally {
    if (master && isAlive(master)) process.kill(master, 'SIGKILL')
  }
})
