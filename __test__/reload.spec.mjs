// HUP reloads the configuration and the app code with no failed request; USR1 reopens the
// error log after rotation; WINCH is ignored when not daemonized.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appSource, CLI, getOnce, killAll, PATIENCE_MS, ROOT, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

function tempApp(version) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-reload-'))
  writeFileSync(path.join(dir, 'app.mjs'), appSource(version))
  return dir
}

test('HUP: new code and new config in new workers, old workers retired, no request fails', async (t) => {
  const dir = tempApp('v1')
  const config = path.join(dir, 'ugn.config.mjs')
  writeFileSync(config, 'export const workers = 2\n')
  const ugn = await startUgn(path.join(dir, 'app.mjs'), ['-c', config], { workers: 2 })
  try {
    const old = ugn.workerPids()
    t.is((await getOnce(ugn.port)).body, 'v1')
    writeFileSync(path.join(dir, 'app.mjs'), appSource('v2'))
    writeFileSync(config, 'export const workers = 3\n')

    const results = []
    let loading = true
    const load = (async () => {
      while (loading && results.length < 5000) results.push(await getOnce(ugn.port))
    })()
    await waitFor(() => results.length > 0, PATIENCE_MS, 'the load to be answered')
    process.kill(ugn.masterPid, 'SIGHUP')
    await waitFor(() => ugn.workerPids().length === 3 && old.every((pid) => !ugn.workerPids().includes(pid)), PATIENCE_MS, 'three new workers, no old one')
    await waitFor(async () => (await getOnce(ugn.port)).body === 'v2', PATIENCE_MS, 'the new code to answer')
    await waitFor(() => results.some((r) => r.body === 'v2'), PATIENCE_MS, 'the load to reach the new code')
    loading = false
    await load

    t.is(results[0].body, 'v1', 'the load began on the old code')
    t.is(results.at(-1).body, 'v2', 'and went on to the new code')
    t.deepEqual(results.filter((r) => r.status !== 200), [], 'no failed request')
    t.regex(ugn.log(), /Handling signal: hup/)
    t.is((await getOnce(ugn.port)).body, 'v2')
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('HUP with a broken config keeps serving with the old one', async (t) => {
  const dir = tempApp('v1')
  const config = path.join(dir, 'ugn.config.mjs')
  writeFileSync(config, 'export const workers = 1\n')
  const ugn = await startUgn(path.join(dir, 'app.mjs'), ['-c', config])
  try {
    writeFileSync(config, 'export const workers = "many"\n')
    process.kill(ugn.masterPid, 'SIGHUP')
    await waitFor(() => /Reload failed; keeping the current configuration: Invalid value for workers/.test(ugn.log()), PATIENCE_MS, 'the reload error')
    t.is((await getOnce(ugn.port)).status, 200)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('USR1 reopens the error log after it was moved away; WINCH is ignored', async (t) => {
  const dir = tempApp('v1')
  const logFile = path.join(dir, 'error.log')
  const read = (file) => {
    try {
      return readFileSync(file, 'utf8')
    } catch {
      return ''
    }
  }
  // The log goes to the file, so the usual helper (which reads stderr) cannot be used.
  const child = spawn(process.execPath, [CLI, path.join(dir, 'app.mjs'), '--bind', '127.0.0.1:0', '--error-logfile', logFile], {
    cwd: ROOT,
    stdio: 'ignore',
  })
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  try {
    await waitFor(() => /Booting worker/.test(read(logFile)), PATIENCE_MS, 'boot lines in the log file')
    const port = Number(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(read(logFile))[1])
    await waitFor(async () => (await getOnce(port)).status === 200, PATIENCE_MS, 'the app to answer')
    renameSync(logFile, `${logFile}.1`)
    process.kill(child.pid, 'SIGUSR1')
    await waitFor(() => /Handling signal: usr1/.test(read(`${logFile}.1`)), PATIENCE_MS, 'USR1 handled')
    // Lines after the reopen land in a new file at the configured path.
    process.kill(child.pid, 'SIGWINCH')
    await waitFor(() => /SIGWINCH ignored\. Not daemonized/.test(read(logFile)), PATIENCE_MS, 'WINCH logged in the new file')
    t.regex(read(`${logFile}.1`), /Starting ugn/)
    t.notRegex(read(logFile), /Starting ugn/)
    t.is((await getOnce(port)).status, 200)
  } finally {
    child.kill('SIGTERM')
    t.is(await exited, 0)
  }
  // The worker reopened its log too: its exit line is in the new file.
  t.regex(read(logFile), /Worker exiting/)
})

test('--reload restarts the workers when a source file changes, not for other files', async (t) => {
  const dir = tempApp('r1')
  const ugn = await startUgn('app.mjs', ['--reload', '--chdir', dir], { workers: 1 })
  try {
    const [first] = ugn.workerPids()
    // The watcher sees changes in order: had notes.txt counted, it would be named in the same
    // reload as app.mjs, or in one before it.
    writeFileSync(path.join(dir, 'notes.txt'), 'not a source file\n')
    writeFileSync(path.join(dir, 'app.mjs'), appSource('r2'))
    await ugn.waitForLog(/Worker reloading: .* modified/)
    await waitFor(async () => (await getOnce(ugn.port)).body === 'r2', PATIENCE_MS, 'the new code to answer')
    await waitFor(() => !ugn.workerPids().includes(first), PATIENCE_MS, 'the old worker to exit')
    t.deepEqual(ugn.log().match(/Worker reloading: .* modified/g), ['Worker reloading: app.mjs modified'], 'a non-source file does not restart workers')
    t.is(ugn.bootedPids().length, 2, 'one restart')
    t.is(ugn.workerPids().length, 1)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
