#!/usr/bin/env node
// HTTP/2 per core: ugn (--workers 1, the native hello world of examples/hello.mjs, h2c with prior
// knowledge) against node:http2's createServer (1 process, the same hello world), each pinned to
// core 0, loaded by h2load on core 1: --connections connections with --streams concurrent streams
// each, for --seconds after a 2 s warm-up run. The server processes' CPU time (utime+stime of the
// whole process tree, from /proc) over the measured run gives the cost per request. The servers
// alternate (in turns, the first one swapping each round) for --rounds rounds; medians and the
// ratio to node:http2 are printed as a Markdown table.
//
//   node bench/http2.mjs [--rounds 3] [--seconds 5] [--connections 10] [--streams 10]
//
// Needs h2load (Debian package nghttp2-client): installed with apt-get when missing and running
// as root, else the benchmark is skipped with the reason. A server that does not start or does
// not answer HTTP/2 is skipped with the reason too (its row says so).

import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http2 from 'node:http2'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { cpuDelta, processTree, treeCpu } from './lib/proc.mjs'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    streams: { type: 'string', default: '10' },
  },
})

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

/** h2load, installed from Debian's nghttp2-client if missing; else the reason it is not here. */
function ensureH2load() {
  if (has('h2load')) return null
  if (process.getuid?.() !== 0 || !has('apt-get')) return 'h2load is not installed (Debian package nghttp2-client), and installing it needs apt-get as root'
  console.log('h2load missing: apt-get install -y nghttp2-client')
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', 'nghttp2-client'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0
  if (!install()) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' })
    install()
  }
  return has('h2load') ? null : 'h2load is not installed and apt-get install nghttp2-client failed'
}

const missing = ensureH2load()
if (missing) {
  console.log(`http2 bench skipped: ${missing}`)
  process.exit(0)
}

const pinned = has('taskset') && os.availableParallelism() >= 2
if (!pinned) console.log('taskset or a second core is missing: servers and h2load run unpinned')

const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-bench-h2-'))
const nodeApp = path.join(dir, 'node-http2.mjs')
writeFileSync(
  nodeApp,
  `import http2 from 'node:http2'
const server = http2.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '13' })
  res.end('Hello, World!')
})
server.listen({ host: '127.0.0.1', port: Number(process.env.PORT), backlog: 4096 })
process.on('SIGTERM', () => process.exit(0))
`,
)

const SERVERS = {
  'node:http2': (port) => [process.execPath, [nodeApp], { PORT: String(port) }],
  'ugn (native, h2c)': (port) => [
    process.execPath,
    [path.join(ROOT, 'dist/cli.js'), 'examples/hello:app', '--workers', '1', '--bind', `127.0.0.1:${port}`, '--http-protocols', 'h1,h2', '--http2-cleartext', 'prior-knowledge'],
    {},
  ],
}
const BASE = 'node:http2'

/** A port nobody listens on now (the kernel's choice), so servers never share one. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** One HTTP/2 GET / with prior knowledge: true when the hello world comes back. */
function answersH2(port) {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`)
    const done = (ok) => {
      clearTimeout(timer)
      session.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), 2000)
    session.on('error', () => done(false))
    const req = session.request({ ':path': '/' }, { endStream: true })
    let status
    let body = ''
    req.on('response', (h) => (status = h[':status']))
    req.on('data', (d) => (body += d))
    req.on('end', () => done(status === 200 && body === 'Hello, World!'))
    req.on('error', () => done(false))
  })
}

function onCore(core, cmd, args, options) {
  return pinned ? spawn('taskset', ['-c', core, cmd, ...args], options) : spawn(cmd, args, options)
}

/** Runs h2load on core 1 and parses its summary. */
function h2load(port, seconds) {
  const args = ['-c', values.connections, '-m', values.streams, '-D', String(seconds), `http://127.0.0.1:${port}/`]
  const cmd = pinned ? ['taskset', ['-c', '1', 'h2load', ...args]] : ['h2load', args]
  const out = spawnSync(cmd[0], cmd[1], { encoding: 'utf8', timeout: (seconds + 30) * 1000 }).stdout ?? ''
  const finished = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(out)
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out)
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out)
  const protocol = /Application protocol: (\S+)/.exec(out)?.[1]
  if (!finished || !requests) throw new Error(`h2load printed no summary:\n${out.slice(-2000)}`)
  return {
    rps: Number(finished[2]),
    succeeded: Number(requests[4]),
    failed: Number(requests[5]) + Number(requests[6]) + Number(requests[7]),
    non2xx: codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : null,
    protocol,
  }
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const tree = processTree(child.pid)
  child.kill('SIGTERM')
  const exited = new Promise((resolve) => child.on('exit', resolve))
  if ((await Promise.race([exited, sleep(10_000).then(() => 'timeout')])) === 'timeout') {
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
  }
}

async function measure(name) {
  const port = await freePort()
  const [cmd, args, env] = SERVERS[name](port)
  const server = onCore('0', cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  server.stderr.setEncoding('utf8')
  server.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  try {
    for (let i = 0; !(await answersH2(port)); i++) {
      if (server.exitCode !== null || i === 100) {
        const why = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ') || `no HTTP/2 answer on port ${port}`
        return { skipped: why }
      }
      await sleep(100)
    }
    h2load(port, 2)
    const before = treeCpu(server.pid)
    const result = h2load(port, Number(values.seconds))
    const cpu = cpuDelta(before, treeCpu(server.pid)).seconds
    return { ...result, cpuPerRequestUs: (cpu * 1e6) / result.succeeded, serverCpuPercent: (cpu / Number(values.seconds)) * 100 }
  } finally {
    await stop(server)
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rates = Object.fromEntries(Object.keys(SERVERS).map((s) => [s, []]))
const costs = Object.fromEntries(Object.keys(SERVERS).map((s) => [s, []]))
const loads = Object.fromEntries(Object.keys(SERVERS).map((s) => [s, []]))
const skipped = {}
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = Object.keys(SERVERS).filter((s) => !skipped[s])
    if (round % 2 === 1) order.reverse()
    for (const name of order) {
      const r = await measure(name)
      if (r.skipped) {
        skipped[name] = r.skipped
        console.log(`${name} skipped: ${r.skipped}`)
        continue
      }
      if (r.failed || r.non2xx) console.log(`warning: ${name}: ${r.failed} failed requests, ${r.non2xx} not 2xx`)
      rates[name].push(r.rps)
      costs[name].push(r.cpuPerRequestUs)
      loads[name].push(r.serverCpuPercent)
      console.log(JSON.stringify({ round, server: name, protocol: r.protocol, rps: Math.round(r.rps), succeeded: r.succeeded, failed: r.failed, serverCpuPerRequestUs: +r.cpuPerRequestUs.toFixed(2), serverCpuPercent: Math.round(r.serverCpuPercent) }))
    }
  }
  const base = rates[BASE].length ? median(rates[BASE]) : NaN
  console.log()
  console.log(`| server | req/s (median of ${values.rounds}) | ratio to ${BASE} | server µs CPU per request (median) | server CPU, % of a core (median) |`)
  console.log('|---|--:|--:|--:|--:|')
  for (const name of Object.keys(SERVERS)) {
    if (!rates[name].length) {
      console.log(`| ${name} | skipped: ${skipped[name] ?? 'no run'} | | | |`)
      continue
    }
    const rps = median(rates[name])
    console.log(`| ${name} | ${Math.round(rps)} | ${Number.isNaN(base) ? '-' : `${(rps / base).toFixed(2)}x`} | ${median(costs[name]).toFixed(2)} | ${Math.round(median(loads[name]))} |`)
  }
  console.log(
    `h2load -c ${values.connections} -m ${values.streams} -D ${values.seconds} over h2c (prior knowledge), after a 2 s warm-up run; ` +
      (pinned ? 'server on core 0, h2load on core 1' : 'unpinned'),
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
