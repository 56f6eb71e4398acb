// Test helpers: start a real ugn master (dist/cli.js) with real workers, talk to it over real
// sockets, and make sure no process outlives the test file.

import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI = path.join(ROOT, 'dist', 'cli.js')

/** Apps are given to the CLI relative to the repository root (the server's cwd). */
export const appPath = (name) => `__test__/apps/${name}`

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * How long to wait for something that should happen soon (a server to start or stop, a log
 * line, a response) before calling it a failure. A passing test never waits it out, so it is
 * sized for a machine several times slower and busier than a quiet developer machine (where
 * these take milliseconds to a few seconds), not for the machine at hand: a slow machine must
 * not fail a test that only waited too little.
 */
export const PATIENCE_MS = 60_000

/** Every process any helper started, so leftovers can be killed whatever happened. */
const started = new Set()

/** Kills every master and worker still alive. Register with `test.after.always(killAll)`. */
export function killAll() {
  for (const proc of started) {
    for (const pid of [...proc.pids(), proc.masterPid]) {
      if (pid && isAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
      }
    }
  }
  started.clear()
}

/** The parent pid and state of a process, from /proc (Linux); undefined if it is gone. */
export function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may hold spaces: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: rest[0], ppid: Number(rest[1]) }
  } catch {
    return undefined
  }
}

/** Whether pid names a live process (a zombie counts as dead). */
export function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return err.code === 'EPERM'
  }
  const stat = procStat(pid)
  return stat === undefined ? true : stat.state !== 'Z' && stat.state !== 'X'
}

/** Polls `predicate` until it returns a truthy value; throws after `timeout` ms. */
export async function waitFor(predicate, timeout = PATIENCE_MS, what = 'condition', interval = 50) {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await predicate()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`)
    await sleep(interval)
  }
}

function countWorkers(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-w' || args[i] === '--workers') return Number(args[i + 1])
    const m = /^--workers=(\d+)$/.exec(args[i])
    if (m) return Number(m[1])
  }
  return 1
}

const LISTENING = /Listening at: (\S+) \((\d+)\)/g
const BOOTING = /Booting worker with pid: (\d+)/g

/**
 * Spawns `node dist/cli.js APP --bind 127.0.0.1:0 ...args` and waits until it serves.
 * opts.bind: false to leave --bind to args; opts.workers: Booting lines to wait for
 * (default: the -w value or 1); opts.env: extra environment.
 */
export async function startUgn(app, args = [], opts = {}) {
  const bindArgs = opts.bind === false ? [] : ['--bind', '127.0.0.1:0']
  const child = spawn(process.execPath, [CLI, app, ...bindArgs, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  let stdout = ''
  child.stderr.setEncoding('utf8')
  child.stdout.setEncoding('utf8')
  child.stderr.on('data', (d) => (stderr += d))
  child.stdout.on('data', (d) => (stdout += d))
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  let exitInfo
  exited.then((info) => (exitInfo = info))

  const bootedPids = () => [...stderr.matchAll(BOOTING)].map((m) => Number(m[1]))
  const proc = {
    child,
    masterPid: child.pid,
    log: () => stderr,
    stdout: () => stdout,
    /** Every worker pid ever booted (from the log). */
    bootedPids,
    /** Worker pids from the log that are still alive. */
    workerPids: () => bootedPids().filter((pid) => isAlive(pid)),
    pids: () => bootedPids(),
    exited: () => exitInfo,
    async waitForLog(regex, timeout = PATIENCE_MS) {
      await waitFor(() => regex.test(stderr) || exitInfo !== undefined, timeout, `log ${regex}`)
      if (!regex.test(stderr)) throw new Error(`ugn exited (${JSON.stringify(exitInfo)}) before logging ${regex}\n${stderr}`)
      return stderr.match(regex)
    },
    /** Sends `signal` to the master and resolves to its exit code (bounded). */
    async stop(signal = 'SIGTERM', timeout = PATIENCE_MS) {
      if (exitInfo === undefined) {
        try {
          process.kill(child.pid, signal)
        } catch {}
      }
      const result = await Promise.race([exited, sleep(timeout).then(() => undefined)])
      if (result === undefined) {
        child.kill('SIGKILL')
        throw new Error(`ugn did not exit within ${timeout} ms after ${signal}\n${stderr}`)
      }
      return result.code
    },
  }
  started.add(proc)

  const workers = opts.workers ?? countWorkers(args)
  try {
    await waitFor(
      () => {
        if (exitInfo !== undefined) throw new Error(`ugn exited early (${JSON.stringify(exitInfo)}):\n${stderr}`)
        return /Listening at:/.test(stderr) && bootedPids().length >= workers
      },
      PATIENCE_MS,
      `"Listening at:" and ${workers} "Booting worker" lines`,
    )
    proc.listeners = [...stderr.matchAll(LISTENING)].map((m) => m[1])
    const first = proc.listeners.find((u) => u.startsWith('http://127.0.0.1:'))
    if (first) {
      proc.port = Number(new URL(first).port)
      proc.url = `http://127.0.0.1:${proc.port}`
    }
    // Booting is logged before the app is loaded: poll until a request succeeds.
    if (opts.ready !== false && proc.port) {
      await waitFor(
        async () => {
          if (exitInfo !== undefined) throw new Error(`ugn exited early (${JSON.stringify(exitInfo)}):\n${stderr}`)
          try {
            // A few tries fit in the patience: a try that hangs is given up, not waited out.
            const res = await fetch(`${proc.url}${opts.readyPath ?? '/'}`, { signal: AbortSignal.timeout(PATIENCE_MS / 4) })
            await res.arrayBuffer()
            return true
          } catch {
            return false
          }
        },
        PATIENCE_MS,
        'the first successful GET',
        100,
      )
    }
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return proc
}

/** Runs the CLI to completion (for commands expected to exit on their own). */
export async function runUgn(args, timeout = PATIENCE_MS) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const proc = { masterPid: child.pid, pids: () => [...stderr.matchAll(BOOTING)].map((m) => Number(m[1])) }
  started.add(proc)
  let stderr = ''
  let stdout = ''
  child.stderr.setEncoding('utf8')
  child.stdout.setEncoding('utf8')
  child.stderr.on('data', (d) => (stderr += d))
  child.stdout.on('data', (d) => (stdout += d))
  const result = await Promise.race([
    // 'close', not 'exit': the stdio pipes must be drained too (workers share them).
    new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
    sleep(timeout).then(() => undefined),
  ])
  if (result === undefined) {
    child.kill('SIGKILL')
    throw new Error(`ugn ${args.join(' ')} did not exit within ${timeout} ms\n${stderr}`)
  }
  return { ...result, stderr, stdout, bootedPids: proc.pids() }
}

/**
 * Sends raw bytes and returns the raw response bytes as a latin1 string, once the server has
 * closed the connection (bounded by `timeout`): the requests should end with Connection: close.
 * `connect`: net.connect options override. `chunks`: an array of byte strings written with
 * `gapMs` between them.
 */
export function rawRequest(port, bytes, { timeout = PATIENCE_MS, connect, chunks, gapMs = 50 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(connect ?? { host: '127.0.0.1', port })
    let data = ''
    let done = false
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(overall)
      socket.destroy()
      resolve(data)
    }
    const overall = setTimeout(finish, timeout)
    socket.setEncoding('latin1')
    socket.on('connect', async () => {
      if (chunks) {
        for (const c of chunks) {
          if (socket.destroyed) return
          socket.write(Buffer.from(c, 'latin1'))
          await sleep(gapMs)
        }
      } else {
        socket.write(Buffer.from(bytes, 'latin1'))
      }
    })
    socket.on('data', (d) => (data += d))
    socket.on('error', (err) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') finish()
      else if (!done) {
        done = true
        clearTimeout(overall)
        reject(err)
      }
    })
    socket.on('close', finish)
  })
}

/** Like rawRequest, but also reports whether the server closed the socket (by `opts.timeout`). */
export function rawExchange(port, bytes, opts = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(opts.connect ?? { host: '127.0.0.1', port })
    let data = ''
    let closed = false
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ data, closed })
    }, opts.timeout ?? PATIENCE_MS)
    socket.setEncoding('latin1')
    socket.on('connect', () => socket.write(Buffer.from(bytes, 'latin1')))
    socket.on('data', (d) => (data += d))
    socket.on('error', (err) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        clearTimeout(timer)
        reject(err)
      }
    })
    socket.on('close', () => {
      closed = true
      clearTimeout(timer)
      resolve({ data, closed })
    })
  })
}

/** An open raw connection for step-by-step exchanges (keep-alive, 100-continue). */
export function openSocket(port, connect) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(connect ?? { host: '127.0.0.1', port })
    let data = ''
    let closed = false
    const waiters = new Set()
    const notify = () => {
      for (const w of waiters) w()
    }
    socket.setEncoding('latin1')
    socket.on('data', (d) => {
      data += d
      notify()
    })
    socket.on('close', () => {
      closed = true
      notify()
    })
    socket.on('error', () => {})
    socket.once('connect', () =>
      resolve({
        socket,
        write: (s) => socket.write(Buffer.from(s, 'latin1')),
        data: () => data,
        closed: () => closed,
        /** Drops what was received so far. */
        take() {
          const d = data
          data = ''
          return d
        },
        /** Waits (bounded) until predicate(data, closed) holds. */
        until(predicate, timeout = PATIENCE_MS, what = 'data') {
          return new Promise((res, rej) => {
            const check = () => {
              if (predicate(data, closed)) {
                cleanup()
                res(data)
              }
            }
            const timer = setTimeout(() => {
              cleanup()
              rej(new Error(`timed out after ${timeout} ms waiting for ${what}; got ${JSON.stringify(data)}`))
            }, timeout)
            const cleanup = () => {
              clearTimeout(timer)
              waiters.delete(check)
            }
            waiters.add(check)
            check()
          })
        },
        close: () => socket.destroy(),
      }),
    )
    socket.once('error', reject)
  })
}

/**
 * Splits a latin1 byte string into successive HTTP responses. Each has version, status,
 * reason, headers (lower-cased name → value, repeats joined with ', '), rawHeaders (pairs),
 * body (decoded from chunked), chunked, complete. Responses to HEAD are not told apart:
 * pass `{ head: true }` to treat every response as bodiless. A response without length is
 * close-delimited and takes the rest. Returns { responses, rest }.
 */
export function parseResponses(data, { head = false } = {}) {
  const responses = []
  let pos = 0
  while (pos < data.length) {
    const end = data.indexOf('\r\n\r\n', pos)
    if (end === -1) break
    const lines = data.slice(pos, end).split('\r\n')
    const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0])
    if (!m) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`)
    const res = { version: m[1], status: Number(m[2]), reason: m[3] ?? '', headers: {}, rawHeaders: [], body: '', chunked: false, complete: true }
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon)
      const value = line.slice(colon + 1).trim()
      res.rawHeaders.push([name, value])
      const key = name.toLowerCase()
      res.headers[key] = key in res.headers ? `${res.headers[key]}, ${value}` : value
    }
    pos = end + 4
    const bodiless = head || res.status < 200 || res.status === 204 || res.status === 304
    if (bodiless) {
      // nothing
    } else if (/chunked/i.test(res.headers['transfer-encoding'] ?? '')) {
      res.chunked = true
      for (;;) {
        const lineEnd = data.indexOf('\r\n', pos)
        if (lineEnd === -1) {
          res.complete = false
          pos = data.length
          break
        }
        const size = parseInt(data.slice(pos, lineEnd).split(';')[0], 16)
        pos = lineEnd + 2
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n', pos)
          if (data.startsWith('\r\n', pos)) pos += 2
          else if (trailerEnd !== -1) pos = data.indexOf('\r\n\r\n', pos) + 4
          else res.complete = false
          break
        }
        if (pos + size + 2 > data.length) {
          res.body += data.slice(pos, pos + size)
          res.complete = false
          pos = data.length
          break
        }
        res.body += data.slice(pos, pos + size)
        pos += size + 2
      }
    } else if (res.headers['content-length'] !== undefined) {
      const len = Number(res.headers['content-length'])
      res.body = data.slice(pos, pos + len)
      res.complete = res.body.length === len
      pos += len
    } else {
      res.body = data.slice(pos)
      res.closeDelimited = true
      pos = data.length
    }
    responses.push(res)
  }
  return { responses, rest: data.slice(pos) }
}

/** Parses exactly one response (the first) from raw bytes. */
export function parseResponse(data, opts) {
  const { responses } = parseResponses(data, opts)
  if (responses.length === 0) throw new Error(`no HTTP response in ${JSON.stringify(data.slice(0, 200))}`)
  return responses[0]
}

/** A GET over a Unix socket (fetch cannot use one). */
export function unixGet(socketPath, urlPath = '/', timeout = PATIENCE_MS) {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: urlPath, timeout }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
    })
    req.on('timeout', () => req.destroy(new Error('unix GET timed out')))
    req.on('error', reject)
  })
}

/** fetch with a bounded time. */
export function get(url, init = {}) {
  // A new connection each time: a pooled keep-alive connection may point at a port that a
  // stopped server held and a new one reuses, and fail on the next request.
  const headers = new Headers(init.headers)
  if (!headers.has('connection')) headers.set('connection', 'close')
  return fetch(url, { signal: AbortSignal.timeout(init.timeout ?? PATIENCE_MS), ...init, headers })
}

/** One GET on a new connection (no keep-alive): `{ status, body }`, or `{ status: errorCode }`. */
export function getOnce(port, urlPath = '/') {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, body }))
    })
    req.on('error', (err) => resolve({ status: err.code }))
    req.setTimeout(PATIENCE_MS, () => req.destroy(new Error('timeout')))
  })
}

/** The source of a one-line app that answers `text`, for tests that change an app's code. */
export function appSource(text) {
  return `export function app(environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return ['${text}']
}
`
}
