// The control socket (--control-socket) and `ugn ctl`, against running masters with real
// workers: status, scaling, reload, reopening logs, shutdown, and the errors a client meets.
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, CLI, getOnce, isAlive, killAll, PATIENCE_MS, ROOT, runUgn, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const dirs = []
test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function socketPath() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-ctl-'))
  dirs.push(dir)
  return path.join(dir, 'ugn.sock')
}

const ctl = (socket, ...args) => runUgn(['ctl', '--socket', socket, ...args])

async function startControlled(args = [], app = appPath('hello.mjs')) {
  const socket = socketPath()
  const ugn = await startUgn(app, ['--control-socket', socket, ...args])
  await ugn.waitForLog(/Control socket at: /)
  return { ugn, socket }
}

test('status: a table of the real workers, the socket is mode 0600, ugn status is the same', async (t) => {
  const { ugn, socket } = await startControlled(['-w', '2'])
  t.is(statSync(socket).mode & 0o777, 0o600)
  t.true(statSync(socket).isSocket())
  for (let i = 0; i < 3; i++) await getOnce(ugn.port, '/')
  const status = await waitFor(async () => {
    const r = await ctl(socket, 'status', '--json')
    t.is(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout)
    // The readiness GET and the three above, reported within a second.
    return s.workers.reduce((n, w) => n + w.requests, 0) >= 4 ? s : undefined
  }, PATIENCE_MS, 'the requests reported')
  t.is(status.pid, ugn.masterPid)
  t.is(status.target, 2)
  t.deepEqual(status.workers.map((w) => w.pid).sort(), ugn.workerPids().sort())
  for (const w of status.workers) {
    t.true(w.rss > 10_000_000)
    t.is(w.inFlight, 0)
    t.true(w.age >= 0 && w.age < 60)
  }

  const table = await ctl(socket, 'status')
  t.is(table.code, 0, table.stderr)
  const lines = table.stdout.trimEnd().split('\n')
  t.regex(lines[0], new RegExp(`^master ${ugn.masterPid}, up \\d+s, serving __test__/apps/hello\\.mjs: 2 workers \\(target 2\\)$`))
  t.regex(lines[1], /^PID\s+AGE\s+REQUESTS\s+IN FLIGHT\s+RSS$/)
  t.is(lines.length, 4)
  for (const pid of ugn.workerPids()) t.true(lines.some((l) => new RegExp(`^${pid}\\s+\\d+s\\s+\\d+\\s+0\\s+[\\d.]+ MiB$`).test(l)), table.stdout)

  const alias = await runUgn(['status', '--socket', socket])
  t.is(alias.code, 0, alias.stderr)
  t.regex(alias.stdout, /^master \d+/)
  const fromEnv = await runUgnEnv(['ctl', 'status'], { UGN_CONTROL_SOCKET: socket })
  t.is(fromEnv.code, 0, fromEnv.stderr)
  t.is(await ugn.stop(), 0)
  t.false(existsSync(socket), 'the socket file is removed on exit')
})

test('workers N scales up and down', async (t) => {
  const { ugn, socket } = await startControlled(['-w', '1'])
  const up = await ctl(socket, 'workers', '3')
  t.is(up.code, 0, up.stderr)
  t.is(up.stdout, 'workers: 1 -> 3\n')
  await waitFor(() => ugn.workerPids().length === 3, PATIENCE_MS, 'three workers')
  const down = await ctl(socket, 'workers', '1')
  t.is(down.code, 0, down.stderr)
  await waitFor(() => ugn.workerPids().length === 1, PATIENCE_MS, 'one worker')
  const s = JSON.parse((await ctl(socket, 'status', '--json')).stdout)
  t.is(s.target, 1)
  t.deepEqual(s.workers.map((w) => w.pid), ugn.workerPids())
  for (const bad of ['0', 'many']) {
    const r = await ctl(socket, 'workers', bad)
    t.is(r.code, 1)
    t.regex(r.stderr, /workers takes a count from 1/)
  }
  t.is(await ugn.stop(), 0)
})

test('reload replaces every worker, as HUP; reopen-logs acts as USR1', async (t) => {
  const { ugn, socket } = await startControlled(['-w', '2'])
  const before = ugn.workerPids()
  const r = await ctl(socket, 'reload')
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout, 'reloading (as HUP)\n')
  await ugn.waitForLog(/Handling signal: hup/)
  await waitFor(() => before.every((pid) => !isAlive(pid)) && ugn.workerPids().length === 2, PATIENCE_MS, 'new workers')
  const usr1 = await ctl(socket, 'reopen-logs')
  t.is(usr1.code, 0, usr1.stderr)
  await ugn.waitForLog(/Handling signal: usr1/)
  t.is(await ugn.stop(), 0)
})

for (const [args, signal] of [
  [[], 'int'],
  [['--graceful'], 'term'],
]) {
  test(`shutdown ${args.join(' ')} stops the master as ${signal.toUpperCase()}`, async (t) => {
    const { ugn, socket } = await startControlled(['-w', '1'])
    const r = await ctl(socket, 'shutdown', ...args)
    t.is(r.code, 0, r.stderr)
    await waitFor(() => ugn.exited() !== undefined, PATIENCE_MS, 'the master to exit')
    t.is(ugn.exited().code, 0)
    t.regex(ugn.log(), new RegExp(`Handling signal: ${signal}`))
    t.false(existsSync(socket))
  })
}

test('clear errors: no socket file, a stale socket, no socket given', async (t) => {
  const missing = await ctl(path.join(os.tmpdir(), 'ugn-no-such-dir', 'x.sock'), 'status')
  t.is(missing.code, 1)
  t.regex(missing.stderr, /^ugn ctl: error: no master is running with the control socket .*x\.sock \(the file does not exist/)

  const stale = socketPath()
  await staleSocket(stale)
  const refused = await ctl(stale, 'status')
  t.is(refused.code, 1)
  t.regex(refused.stderr, /no master is listening on .* \(connection refused/)

  const none = await runUgnEnv(['ctl', 'status'], { UGN_CONTROL_SOCKET: '' })
  t.is(none.code, 2)
  t.regex(none.stderr, /no control socket: give --socket PATH or set UGN_CONTROL_SOCKET/)
})

/**
 * A copy of the built package that any user may read and run, so that running ugn as another
 * user does not depend on the permissions of the folder the checkout sits in.
 */
function copyForAnyUser() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-package-'))
  dirs.push(dir)
  const addons = readdirSync(ROOT).filter((name) => name.endsWith('.node'))
  for (const name of ['package.json', 'binding.cjs', 'dist', ...addons]) cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true })
  cpSync(path.join(ROOT, 'node_modules', 'commander'), path.join(dir, 'node_modules', 'commander'), { recursive: true })
  execFileSync('chmod', ['-R', 'a+rX', dir])
  return dir
}

const asRoot = process.getuid?.() === 0 ? test : test.skip
asRoot('not permitted: another user gets a clear EACCES message (needs root to run the client as another user)', async (t) => {
  const { ugn, socket } = await startControlled([])
  // The directory must be searchable for the client to reach the socket's own permissions.
  chmodSync(path.dirname(socket), 0o755)
  const copy = copyForAnyUser()
  const r = await runUgnEnv(['ctl', '--socket', socket, 'status'], {}, { uid: 65534, gid: 65534, cwd: copy, cli: path.join(copy, 'dist', 'cli.js') })
  t.is(r.code, 1, r.stderr)
  t.regex(r.stderr, /not permitted to use .* \(the socket is mode 0600/)
  t.is(await ugn.stop(), 0)
})

test('at start: a stale socket file is replaced, a live one or another file stops the start, --no-control-socket wins', async (t) => {
  const stale = socketPath()
  await staleSocket(stale)
  const ugn = await startUgn(appPath('hello.mjs'), ['--control-socket', stale])
  await ugn.waitForLog(/Control socket at: /)
  t.is((await ctl(stale, 'status')).code, 0)

  const second = await runUgn([appPath('hello.mjs'), '--bind', '127.0.0.1:0', '--control-socket', stale])
  t.is(second.code, 1)
  t.regex(second.stderr, /Cannot open the control socket .*: another master is already listening on/)
  t.is((await ctl(stale, 'status')).code, 0, 'the first master keeps its socket')
  t.is(await ugn.stop(), 0)

  const file = socketPath()
  writeFileSync(file, 'data')
  const notSocket = await runUgn([appPath('hello.mjs'), '--bind', '127.0.0.1:0', '--control-socket', file])
  t.is(notSocket.code, 1)
  t.regex(notSocket.stderr, /exists and is not a socket/)

  const disabled = await startUgn(appPath('hello.mjs'), ['--control-socket', socketPath(), '--no-control-socket'])
  t.notRegex(disabled.log(), /Control socket at/)
  t.is(await disabled.stop(), 0)
})

test('USR2: the new master takes the control socket over at once, and the metrics address when promoted', async (t) => {
  const port = await freePort()
  const { ugn, socket } = await startControlled(['--metrics-bind', `127.0.0.1:${port}`])
  const metricsPid = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })
    return Number(/ugn_worker_rss_bytes\{pid="(\d+)"\}/.exec(await res.text())?.[1])
  }
  const oldWorker = ugn.workerPids()[0]
  t.is(await metricsPid(), oldWorker)
  process.kill(ugn.masterPid, 'SIGUSR2')
  const [, pid] = await ugn.waitForLog(/Upgrading: new master started with pid (\d+)/)
  const newMaster = Number(pid)
  try {
    await ugn.waitForLog(/served by the old master until this one is promoted/)
    await waitFor(async () => {
      const r = await ctl(socket, 'status', '--json')
      return r.code === 0 && JSON.parse(r.stdout).pid === newMaster
    }, PATIENCE_MS, 'the new master on the control socket')
    t.is(await metricsPid(), oldWorker, 'the old master still serves the metrics')
    t.is(await ugn.stop('SIGTERM'), 0)
    await waitFor(() => /Master has been promoted\./.test(ugn.log()), PATIENCE_MS, 'the promotion')
    const status = JSON.parse((await ctl(socket, 'status', '--json')).stdout)
    t.is(status.pid, newMaster)
    await waitFor(async () => (await metricsPid().catch(() => NaN)) === status.workers[0].pid, PATIENCE_MS, 'the new master serving the metrics')
  } finally {
    if (isAlive(newMaster)) {
      process.kill(newMaster, 'SIGTERM')
      await waitFor(() => !isAlive(newMaster), PATIENCE_MS, 'the new master to stop')
    }
  }
  t.false(existsSync(socket), 'the promoted master removes the socket file on exit')
})

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Leaves a socket file nobody listens on: a process that listens and is killed. */
async function staleSocket(file) {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(file)}, () => process.kill(process.pid, 'SIGKILL'))`])
  await new Promise((resolve) => child.on('exit', resolve))
  if (!existsSync(file)) throw new Error('no stale socket was left')
}

/** The CLI with extra environment and spawn options (runUgn takes neither). */
function runUgnEnv(args, env, { cli = CLI, ...options } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...options })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
