// Server hooks on real masters and workers: which hooks fire, how often, with what arguments
// and in what order; a throwing hook is logged with its name and the server goes on, except
// on_starting and when_ready, which stop the master with a non-zero status.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, CLI, get, isAlive, killAll, PATIENCE_MS, ROOT, sleep, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const RECORDING = path.join(ROOT, '__test__', 'apps', 'config', 'recording.config.mjs')
const HELLO = appPath('hello.mjs')

const dirs = []
test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function tempDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-hooks-'))
  dirs.push(dir)
  return dir
}

/** The hook calls recorded so far, in file order. */
function calls(file) {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

const named = (list, hook) => list.filter((c) => c.hook === hook)
const countBy = (list) => list.reduce((acc, c) => ({ ...acc, [c.hook]: (acc[c.hook] ?? 0) + 1 }), {})

/** A fresh hook log, and the environment that makes recording.config.mjs use it. */
function recorder(extra = {}) {
  const file = path.join(tempDir(), 'hooks.log')
  return { file, env: { UGN_HOOK_LOG: file, UGN_HOOK_THROW: '', UGN_HOOK_ASYNC: '', ...extra } }
}

/** Runs the CLI to completion with extra environment (async: other tests keep running). */
function runCli(args, env = {}, timeout = 20_000) {
  return new Promise((resolve, reject) => {
    const { UGN_CMD_ARGS, WEB_CONCURRENCY, ...base } = process.env
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    let stdout = ''
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`ugn ${args.join(' ')} did not exit within ${timeout} ms\n${stderr}`))
    }, timeout)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr, stdout, pid: child.pid })
    })
  })
}

test('every hook fires with sensible arguments and in order: 2 workers, a request, TTIN, INT', async (t) => {
  const { file, env } = recorder()
  const ugn = await startUgn(HELLO, ['-c', RECORDING], { workers: 2, env, ready: false })
  const master = ugn.masterPid
  await waitFor(() => named(calls(file), 'post_worker_init').length === 2, PATIENCE_MS, '2 post_worker_init hooks')
  const [first, second] = ugn.bootedPids()

  const res = await get(`${ugn.url}/hooked/path?x=1`)
  t.is(res.status, 200)
  t.is(await res.text(), 'Hello, World!')
  const servedBy = Number(res.headers.get('x-pid'))
  await waitFor(() => named(calls(file), 'post_request').length === 1, PATIENCE_MS, 'the post_request hook')

  process.kill(master, 'SIGTTIN')
  await waitFor(() => named(calls(file), 'post_worker_init').length === 3, PATIENCE_MS, 'the third worker to init')
  t.is(ugn.bootedPids().length, 3)
  const third = ugn.bootedPids()[2]
  const booted = [first, second, third]

  t.is(await ugn.stop('SIGINT'), 0)
  const all = calls(file)
  t.log(all.map((c) => c.hook).join(' '))

  t.deepEqual(countBy(all), {
    on_starting: 1,
    when_ready: 1,
    pre_fork: 3,
    post_fork: 3,
    post_worker_init: 3,
    pre_request: 1,
    post_request: 1,
    nworkers_changed: 1,
    worker_int: 3,
    worker_exit: 3,
    child_exit: 3,
    on_exit: 1,
  })

  // Master hooks run in the master and are given the arbiter.
  for (const hook of ['on_starting', 'when_ready', 'pre_fork', 'nworkers_changed', 'child_exit', 'on_exit']) {
    for (const c of named(all, hook)) {
      t.is(c.proc, master, `${hook} runs in the master`)
      t.is(c.arbiterPid, master, `${hook} is given the arbiter`)
    }
  }
  t.is(named(all, 'on_starting')[0].app, HELLO)
  t.deepEqual(named(all, 'when_ready')[0].workers.sort(), [first, second].sort(), 'when_ready sees the 2 workers')
  t.deepEqual(
    named(all, 'pre_fork').map((c) => c.worker),
    [
      { pid: 0, age: 1 },
      { pid: 0, age: 2 },
      { pid: 0, age: 3 },
    ],
  )
  const changed = named(all, 'nworkers_changed')[0]
  t.is(changed.next, 3)
  t.is(changed.old, 2)
  t.deepEqual(named(all, 'child_exit').map((c) => c.worker.pid).sort(), [...booted].sort(), 'child_exit once per booted worker')
  // Workers boot concurrently: their "Booting" lines need not follow their ages; post_fork tells.
  const ageOf = new Map(named(all, 'post_fork').map((c) => [c.self.pid, c.self.age]))
  t.deepEqual([...ageOf.values()].sort(), [1, 2, 3], 'post_fork: self.age values match the pre_fork ages')
  t.is(ageOf.get(third), 3, 'the TTIN worker is age 3')
  for (const c of named(all, 'child_exit')) t.is(c.worker.age, ageOf.get(c.worker.pid), 'child_exit: the worker age')

  // Worker hooks run in the worker they describe.
  for (const hook of ['post_fork', 'post_worker_init', 'pre_request', 'post_request', 'worker_int', 'worker_exit']) {
    for (const c of named(all, hook)) {
      t.is(c.self.pid, c.proc, `${hook}: self is the worker running it`)
      t.true(booted.includes(c.self.pid), `${hook}: ${c.self.pid} is a booted worker`)
      t.is(c.self.app, HELLO)
      t.is(c.self.workers, 2, `${hook}: self.cfg is the worker's configuration`)
    }
  }
  for (const hook of ['post_fork', 'post_worker_init', 'worker_int', 'worker_exit']) {
    t.deepEqual(named(all, hook).map((c) => c.self.pid).sort(), [...booted].sort(), `${hook} once per worker`)
  }
  for (const c of named(all, 'post_fork')) {
    t.is(c.server, null, 'post_fork(null, self)')
  }
  for (const c of named(all, 'worker_exit')) t.is(c.server, null, 'worker_exit(null, self)')
  const [pre] = named(all, 'pre_request')
  const [post] = named(all, 'post_request')
  t.is(pre.path, '/hooked/path')
  t.is(pre.query, 'x=1')
  t.is(pre.method, 'GET')
  t.is(pre.self.pid, servedBy, 'pre_request runs in the worker that served the request')
  t.is(post.path, '/hooked/path')
  t.is(post.status, '200 OK')
  t.is(post.self.pid, servedBy)

  // Order.
  const at = (pred) => all.findIndex(pred)
  const lastAt = (pred) => all.findLastIndex(pred)
  t.is(all[0].hook, 'on_starting', 'on_starting comes first')
  t.is(all.at(-1).hook, 'on_exit', 'on_exit comes last')
  const readyAt = at((c) => c.hook === 'when_ready')
  t.true(readyAt > lastAt((c) => c.hook === 'pre_fork' && c.worker.age === 2), 'when_ready after the first 2 pre_fork')
  t.true(readyAt < at((c) => c.hook === 'nworkers_changed'))
  t.true(at((c) => c.hook === 'nworkers_changed') < at((c) => c.hook === 'pre_fork' && c.worker.age === 3), 'TTIN: nworkers_changed, then pre_fork')
  t.true(at((c) => c.hook === 'pre_request') < at((c) => c.hook === 'post_request'))
  for (const pid of booted) {
    const seq = ['post_fork', 'post_worker_init', 'worker_int', 'worker_exit'].map((hook) => at((c) => c.hook === hook && c.self.pid === pid))
    t.true(at((c) => c.hook === 'pre_fork' && c.worker.age === ageOf.get(pid)) < seq[0], `worker ${pid}: pre_fork before post_fork`)
    t.deepEqual([...seq].sort((a, b) => a - b), seq, `worker ${pid}: post_fork < post_worker_init < worker_int < worker_exit`)
    t.true(seq[3] < at((c) => c.hook === 'child_exit' && c.worker.pid === pid), `worker ${pid}: worker_exit before child_exit`)
  }
  t.true(at((c) => c.hook === 'post_worker_init' && c.self.pid === servedBy) < at((c) => c.hook === 'pre_request'))
  for (const pid of booted) t.false(isAlive(pid))
})

test('TERM: workers exit without worker_int; worker_exit and child_exit still fire once each', async (t) => {
  const { file, env } = recorder()
  const ugn = await startUgn(HELLO, ['-c', RECORDING, '-w', '1'], { workers: 1, env, ready: false })
  await waitFor(() => named(calls(file), 'post_worker_init').length === 1, PATIENCE_MS, 'post_worker_init')
  process.kill(ugn.masterPid, 'SIGTTOU') // ignored with one worker: no nworkers_changed
  await sleep(300)
  t.is(await ugn.stop('SIGTERM'), 0)
  const counts = countBy(calls(file))
  t.is(counts.worker_int, undefined, 'TERM is a graceful stop, not an interrupt')
  t.is(counts.nworkers_changed, undefined, 'TTOU with one worker changes nothing')
  t.is(counts.worker_exit, 1)
  t.is(counts.child_exit, 1)
  t.is(counts.on_exit, 1)
  t.is(calls(file).at(-1).hook, 'on_exit')
})

const throwing = [
  ['pre_request', 'pre_request'],
  ['post_request', 'post_request'],
  ['pre_request and post_request', 'pre_request,post_request'],
]

for (const [name, hooks] of throwing) {
  test(`a throwing ${name} hook is logged with its name and the request still succeeds`, async (t) => {
    const { file, env } = recorder({ UGN_HOOK_THROW: hooks })
    const ugn = await startUgn(HELLO, ['-c', RECORDING, '-w', '1'], { workers: 1, env, ready: false })
    try {
      await waitFor(() => named(calls(file), 'post_worker_init').length === 1, PATIENCE_MS, 'post_worker_init')
      for (let i = 0; i < 3; i++) {
        const res = await get(`${ugn.url}/r${i}`)
        t.is(res.status, 200)
        t.is(await res.text(), 'Hello, World!')
      }
      for (const hook of hooks.split(',')) {
        await ugn.waitForLog(new RegExp(`Exception in ${hook} hook:[\\s\\S]*${hook} hook failed on purpose`))
        // The worker's stderr reaches the test a moment after the response: wait for the third.
        const logged = () => ugn.log().split(`Exception in ${hook} hook:`).length - 1
        await waitFor(() => logged() >= 3, PATIENCE_MS, `three ${hook} exceptions in the log`)
        await sleep(200)
        t.is(logged(), 3, `logged once per request`)
      }
      t.deepEqual(
        named(calls(file), 'post_request').map((c) => [c.path, c.status]),
        [
          ['/r0', '200 OK'],
          ['/r1', '200 OK'],
          ['/r2', '200 OK'],
        ],
      )
      t.is(ugn.bootedPids().length, 1, 'the worker was not replaced')
    } finally {
      t.is(await ugn.stop('SIGTERM'), 0)
    }
  })
}

test('an async pre_request/post_request hook that rejects is logged and the worker keeps serving', async (t) => {
  const { file, env } = recorder({ UGN_HOOK_THROW: 'pre_request,post_request', UGN_HOOK_ASYNC: '1' })
  const ugn = await startUgn(HELLO, ['-c', RECORDING, '-w', '1'], { workers: 1, env, ready: false })
  try {
    await waitFor(() => named(calls(file), 'post_worker_init').length === 1, PATIENCE_MS, 'post_worker_init')
    for (let i = 0; i < 3; i++) {
      const res = await get(`${ugn.url}/a${i}`)
      t.is(res.status, 200)
      t.is(await res.text(), 'Hello, World!')
      await sleep(100)
    }
    await ugn.waitForLog(/Exception in pre_request hook:/)
    await ugn.waitForLog(/Exception in post_request hook:/)
    t.is(ugn.bootedPids().length, 1, 'the worker did not die on an unhandled rejection')
    t.notRegex(ugn.log(), /exited with code|Booting worker[\s\S]*Booting worker/)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('other throwing hooks are logged and the server keeps going, exit status 0', async (t) => {
  const failing = ['pre_fork', 'post_fork', 'post_worker_init', 'nworkers_changed', 'worker_int', 'worker_exit', 'child_exit', 'on_exit']
  const { file, env } = recorder({ UGN_HOOK_THROW: failing.join(',') })
  const ugn = await startUgn(HELLO, ['-c', RECORDING, '-w', '1'], { workers: 1, env, ready: false })
  await waitFor(() => named(calls(file), 'post_worker_init').length === 1, PATIENCE_MS, 'post_worker_init')
  t.is((await get(`${ugn.url}/`)).status, 200)
  process.kill(ugn.masterPid, 'SIGTTIN')
  await waitFor(() => named(calls(file), 'post_worker_init').length === 2, PATIENCE_MS, 'the second worker')
  t.is((await get(`${ugn.url}/`)).status, 200)
  t.is(await ugn.stop('SIGINT'), 0)
  const counts = countBy(calls(file))
  t.like(counts, { pre_fork: 2, post_fork: 2, post_worker_init: 2, nworkers_changed: 1, worker_int: 2, worker_exit: 2, child_exit: 2, on_exit: 1 })
  for (const hook of failing) t.regex(ugn.log(), new RegExp(`Exception in ${hook} hook:`), `${hook} is logged`)
  t.is(ugn.bootedPids().length, 2, 'no worker died because of a hook')
})

test('a throwing on_starting stops the master with a non-zero status before it binds', async (t) => {
  const { file, env } = recorder({ UGN_HOOK_THROW: 'on_starting' })
  const dir = tempDir()
  const sock = path.join(dir, 'ugn.sock')
  const pidfile = path.join(dir, 'ugn.pid')
  const r = await runCli([HELLO, '-c', RECORDING, '--bind', `unix:${sock}`, '--pid', pidfile], env)
  t.not(r.code, 0, r.stderr)
  t.truthy(r.code)
  t.regex(r.stderr, /Exception in on_starting hook:[\s\S]*on_starting hook failed on purpose/)
  t.notRegex(r.stderr, /Listening at|Booting worker/)
  t.false(existsSync(sock), 'no socket was bound')
  t.false(existsSync(pidfile), 'no pid file was written')
  t.deepEqual(
    calls(file).map((c) => c.hook),
    ['on_starting'],
    'nothing after on_starting ran',
  )
})

test('a throwing when_ready stops the master with a non-zero status and its workers', async (t) => {
  const { file, env } = recorder({ UGN_HOOK_THROW: 'when_ready' })
  const r = await runCli([HELLO, '-c', RECORDING, '--bind', '127.0.0.1:0'], env)
  t.not(r.code, 0, r.stderr)
  t.truthy(r.code)
  t.regex(r.stderr, /Exception in when_ready hook:[\s\S]*when_ready hook failed on purpose/)
  const booted = [...r.stderr.matchAll(/Booting worker with pid: (\d+)/g)].map((m) => Number(m[1]))
  for (const pid of booted) t.false(isAlive(pid), `worker ${pid} is gone`)
  const hooks = calls(file).map((c) => c.hook)
  t.is(hooks[0], 'on_starting')
  t.is(hooks.at(-1), 'on_exit')
})

test('hooks as properties of a default-export object; --print-config lists them as <function>', async (t) => {
  const dir = tempDir()
  const log = path.join(dir, 'hooks.log')
  const cfg = path.join(dir, 'ugn.config.mjs')
  writeFileSync(
    cfg,
    `import { appendFileSync } from 'node:fs'
const note = (line) => appendFileSync(${JSON.stringify(log)}, line + '\\n')
export default {
  workers: 1,
  when_ready: (arbiter) => note('when_ready ' + arbiter.pid),
  post_request: (self, environ, status) => note('post_request ' + self.pid + ' ' + environ.PATH_INFO + ' ' + status),
}
`,
  )
  const printed = await runCli([HELLO, '-c', cfg, '--print-config'])
  t.is(printed.code, 0, printed.stderr)
  t.regex(printed.stdout, /^when_ready\s+= <function>$/m)
  t.regex(printed.stdout, /^post_request\s+= <function>$/m)
  t.notRegex(printed.stdout, /^on_starting/m)

  const ugn = await startUgn(HELLO, ['-c', cfg], { workers: 1, readyPath: '/ready' })
  await get(`${ugn.url}/x`).then((r) => r.text())
  await waitFor(() => existsSync(log) && /post_request \d+ \/x 200 OK/.test(readFileSync(log, 'utf8')), PATIENCE_MS, 'post_request line')
  t.is(await ugn.stop('SIGTERM'), 0)
  const lines = readFileSync(log, 'utf8').trim().split('\n')
  t.is(lines[0], `when_ready ${ugn.masterPid}`)
  t.true(lines.includes(`post_request ${ugn.bootedPids()[0]} /x 200 OK`))
})

test('TTOU retires the oldest worker gracefully: nworkers_changed(arbiter, 1, 2), then its worker_exit and child_exit', async (t) => {
  const { file, env } = recorder()
  const ugn = await startUgn(HELLO, ['-c', RECORDING], { workers: 2, env, ready: false })
  try {
    await waitFor(() => named(calls(file), 'post_worker_init').length === 2, PATIENCE_MS, '2 post_worker_init hooks')
    const oldest = named(calls(file), 'post_fork').find((c) => c.self.age === 1).self.pid
    process.kill(ugn.masterPid, 'SIGTTOU')
    await waitFor(() => named(calls(file), 'child_exit').length === 1, PATIENCE_MS, 'child_exit of the retired worker')
    const all = calls(file)
    t.like(named(all, 'nworkers_changed')[0], { proc: ugn.masterPid, next: 1, old: 2 })
    t.deepEqual(named(all, 'worker_exit').map((c) => c.self.pid), [oldest], 'the oldest worker exits')
    t.deepEqual(named(all, 'child_exit').map((c) => c.worker), [{ pid: oldest, age: 1 }])
    t.is(named(all, 'worker_int').length, 0, 'retired with TERM, not interrupted')
    t.is(named(all, 'pre_fork').length, 2, 'no replacement is spawned')
    await sleep(1200)
    t.deepEqual(ugn.workerPids().length, 1)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('HUP: on_reload once in the master, a new generation of workers with its hooks, the old one exits', async (t) => {
  const { file, env } = recorder()
  const ugn = await startUgn(HELLO, ['-c', RECORDING], { workers: 2, env, ready: false })
  try {
    await waitFor(() => named(calls(file), 'post_worker_init').length === 2, PATIENCE_MS, '2 post_worker_init hooks')
    const before = ugn.bootedPids()
    process.kill(ugn.masterPid, 'SIGHUP')
    await waitFor(() => named(calls(file), 'post_worker_init').length === 4 && named(calls(file), 'child_exit').length === 2, PATIENCE_MS, 'a new generation')
    const all = calls(file)
    const reloads = named(all, 'on_reload')
    t.is(reloads.length, 1)
    t.is(reloads[0].proc, ugn.masterPid)
    t.deepEqual(named(all, 'pre_fork').map((c) => c.worker.age), [1, 2, 3, 4])
    t.true(all.indexOf(reloads[0]) < all.findIndex((c) => c.hook === 'pre_fork' && c.worker.age === 3), 'on_reload before the new workers are forked')
    t.deepEqual(named(all, 'child_exit').map((c) => c.worker.pid).sort(), [...before].sort(), 'the old generation exits')
    t.is(named(all, 'when_ready').length, 1, 'when_ready is not repeated on reload')
    t.is((await get(`${ugn.url}/`)).status, 200)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('pre_request and post_request fire exactly once per request, with the status line sent, for every response shape', async (t) => {
  const { file, env } = recorder()
  const ugn = await startUgn('__test__/apps/config/statuses.mjs', ['-c', RECORDING, '-w', '1'], { workers: 1, env, ready: false })
  const expected = {
    '/plain': '200 OK',
    '/not-found': '404 Not Found',
    '/async': '201 Created',
    '/gen': '200 OK',
    '/write': '202 Accepted',
    '/throw': '500 Internal Server Error',
    '/empty-gen': '204 No Content',
    '/empty-chunks': '200 OK',
  }
  try {
    await waitFor(() => named(calls(file), 'post_worker_init').length === 1, PATIENCE_MS, 'post_worker_init')
    for (const [p, status] of Object.entries(expected)) {
      const res = await get(`${ugn.url}${p}`)
      await res.arrayBuffer()
      t.is(`${res.status} ${res.statusText}`, status, p)
    }
    await waitFor(() => named(calls(file), 'post_request').length >= Object.keys(expected).length, PATIENCE_MS, 'the post_request hooks')
    await sleep(300)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
  const all = calls(file)
  for (const [p, status] of Object.entries(expected)) {
    t.is(named(all, 'pre_request').filter((c) => c.path === p).length, 1, `${p}: one pre_request`)
    t.deepEqual(
      named(all, 'post_request').filter((c) => c.path === p).map((c) => c.status),
      [status],
      `${p}: one post_request with ${status}`,
    )
  }
})
