// Server hooks from the config file, observed from a real server: each hook appends a line to
// a file, and the test reads back which fired, with which arguments, in which order.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { CLI, get, killAll, ROOT, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const HELLO = path.join(ROOT, 'examples', 'hello.mjs')

function configWith(body) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-hooks-'))
  const record = path.join(dir, 'hooks.log')
  const file = path.join(dir, 'ugn.config.mjs')
  writeFileSync(file, `import { appendFileSync } from 'node:fs'\nconst note = (line) => appendFileSync(${JSON.stringify(record)}, line + '\\n')\n${body}`)
  return { file, lines: () => readFileSync(record, 'utf8').trim().split('\n') }
}

test('every master and worker hook fires with useful arguments, in order', async (t) => {
  const { file, lines } = configWith(`
export const on_starting = (a) => note('on_starting ' + a.pid)
export const when_ready = (a) => note('when_ready ' + a.workerInfo.length)
export const pre_fork = (a, w) => note('pre_fork ' + w.age)
export const post_fork = (a, w) => note('post_fork ' + w.pid)
export const post_worker_init = (w) => note('post_worker_init ' + w.pid)
export const pre_request = (w, env) => note('pre_request ' + w.pid + ' ' + env.PATH_INFO)
export const post_request = (w, env, status) => note('post_request ' + w.pid + ' ' + status)
export const nworkers_changed = (a, n, o) => note('nworkers_changed ' + o + ' ' + n)
export const worker_int = (w) => note('worker_int ' + w.pid)
export const worker_exit = (a, w) => note('worker_exit ' + w.pid)
export const child_exit = (a, w) => note('child_exit ' + w.pid)
export const on_exit = (a) => note('on_exit ' + a.pid)
`)
  const ugn = await startUgn(HELLO, ['-c', file, '--workers', '2'], { workers: 2 })
  const res = await get(`${ugn.url}/hooked`)
  t.is(res.status, 200)
  process.kill(ugn.masterPid, 'SIGTTIN')
  await waitFor(() => ugn.bootedPids().length === 3, 10_000, 'a third worker')
  await waitFor(() => lines().filter((l) => l.startsWith('post_worker_init')).length === 3, 10_000, 'its post_worker_init')
  t.is(await ugn.stop('SIGINT'), 0)

  const log = lines()
  const count = (name) => log.filter((l) => l.startsWith(`${name} `)).length
  const booted = ugn.bootedPids().map(String)
  t.is(log[0], `on_starting ${ugn.masterPid}`)
  t.is(log.at(-1), `on_exit ${ugn.masterPid}`)
  t.is(count('pre_fork'), 3)
  t.true(log.indexOf('when_ready 2') > log.indexOf('pre_fork 2'), 'when_ready after the first two pre_fork')
  for (const name of ['post_fork', 'post_worker_init', 'worker_int', 'worker_exit', 'child_exit']) {
    t.deepEqual(
      log.filter((l) => l.startsWith(`${name} `)).map((l) => l.split(' ')[1]).sort(),
      [...booted].sort(),
      `${name} once per worker`,
    )
  }
  t.is(count('nworkers_changed'), 1)
  t.true(log.includes('nworkers_changed 2 3'))
  const pre = log.filter((l) => l.startsWith('pre_request ') && l.endsWith(' /hooked'))
  t.is(pre.length, 1)
  const server = pre[0].split(' ')[1]
  t.true(booted.includes(server))
  t.true(log.includes(`post_request ${server} 200 OK`))
})

test('a throwing request hook is logged with its name and the request still succeeds', async (t) => {
  const { file } = configWith(`
export const pre_request = () => { throw new Error('pre boom') }
export const post_request = () => { throw new Error('post boom') }
`)
  const ugn = await startUgn(HELLO, ['-c', file], { workers: 1 })
  try {
    const res = await get(`${ugn.url}/`)
    t.is(res.status, 200)
    t.is(await res.text(), 'Hello, World!')
    await ugn.waitForLog(/Exception in pre_request hook:\nError: pre boom/)
    await ugn.waitForLog(/Exception in post_request hook:\nError: post boom/)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('a throwing on_starting hook stops the master before it binds', (t) => {
  const { file } = configWith(`export const on_starting = () => { throw new Error('not today') }\n`)
  const r = spawnSync(process.execPath, [CLI, HELLO, '-c', file, '--bind', '127.0.0.1:0'], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 })
  t.is(r.status, 1)
  t.regex(r.stderr, /Exception in on_starting hook:\nError: not today/)
  t.notRegex(r.stderr, /Listening at/)
})
