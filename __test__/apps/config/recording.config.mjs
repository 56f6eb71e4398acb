// A config file whose every hook appends one JSON line to $UGN_HOOK_LOG: the hook's name, the
// process that ran it, and what it was given. Hooks named in $UGN_HOOK_THROW (comma-separated)
// throw after recording; with $UGN_HOOK_ASYNC=1 they are async functions and reject instead.
import { appendFileSync } from 'node:fs'

const LOG = process.env.UGN_HOOK_LOG
const THROW = new Set((process.env.UGN_HOOK_THROW ?? '').split(',').filter(Boolean))
const ASYNC = process.env.UGN_HOOK_ASYNC === '1'

function record(hook, details) {
  if (LOG) appendFileSync(LOG, `${JSON.stringify({ hook, proc: process.pid, ...details })}\n`)
}

/** What a hook tells about a worker's `self`. */
const self = (s) => ({ pid: s?.pid, age: s?.age, app: s?.app, workers: s?.cfg?.workers })

function hook(name, describe) {
  const sync = (...args) => {
    record(name, describe(...args))
    if (THROW.has(name)) throw new Error(`${name} hook failed on purpose`)
  }
  return ASYNC
    ? async (...args) => {
        await new Promise((resolve) => setImmediate(resolve))
        sync(...args)
      }
    : sync
}

export const workers = 2
export const loglevel = 'info'

export const on_starting = hook('on_starting', (arbiter) => ({ arbiterPid: arbiter?.pid, app: arbiter?.app }))
export const when_ready = hook('when_ready', (arbiter) => ({ arbiterPid: arbiter?.pid, workers: arbiter?.workerInfo?.map((w) => w.pid) }))
export const pre_fork = hook('pre_fork', (arbiter, worker) => ({ arbiterPid: arbiter?.pid, worker }))
export const post_fork = hook('post_fork', (server, s) => ({ server, self: self(s) }))
export const post_worker_init = hook('post_worker_init', (s) => ({ self: self(s) }))
export const pre_request = hook('pre_request', (s, environ) => ({
  self: self(s),
  path: environ?.PATH_INFO,
  query: environ?.QUERY_STRING,
  method: environ?.REQUEST_METHOD,
}))
export const post_request = hook('post_request', (s, environ, status) => ({ self: self(s), path: environ?.PATH_INFO, status }))
export const nworkers_changed = hook('nworkers_changed', (arbiter, next, old) => ({ arbiterPid: arbiter?.pid, next, old }))
export const worker_int = hook('worker_int', (s) => ({ self: self(s) }))
export const worker_exit = hook('worker_exit', (server, s) => ({ server, self: self(s) }))
export const child_exit = hook('child_exit', (arbiter, worker) => ({ arbiterPid: arbiter?.pid, worker }))
export const on_exit = hook('on_exit', (arbiter) => ({ arbiterPid: arbiter?.pid }))
export const on_reload = hook('on_reload', (arbiter) => ({ arbiterPid: arbiter?.pid, workers: arbiter?.workerInfo?.map((w) => w.pid) }))
