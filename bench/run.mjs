#!/usr/bin/env node
// ugn benchmark harness. `node bench/run.mjs --help` for the flags; bench/README.md for the method.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  CLK_TCK, coreStats, coreStatsDelta, cpuDelta, cpusAllowed, killAllNow, processTree, startChild, stopAll, stopChild, treeCpu, vmHwmKiB,
} from './lib/proc.mjs'
import { ceilingLines, ratioMatrix, skipReasons } from './lib/matrix.mjs'
import { SCENARIOS } from './scenarios.mjs'
import { SERVERS } from './servers.mjs'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.dirname(BENCH)
const HOST = '127.0.0.1' // load goes to loopback only
const SERVER_CPU = 0 // per-core mode: server on core 0, load generator (and this harness) on core 1
const CLIENT_CPU = 1
// A failure bound only: a server that starts is measured as soon as it answers, however slow the machine.
const READY_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 5_000

const groupsOf = (s) => (s.group == null ? [] : [].concat(s.group))
const GROUPS = [...new Set(SERVERS.flatMap(groupsOf))]
/** A group's servers: the baseline first, so every ratio has its divisor. */
const groupMembers = (g) => SERVERS.filter((s) => s.baseline || groupsOf(s).includes(g)).map((s) => s.name)
// --suite full: every peer on every scenario, per core and on the whole machine, wrk only, with
// one framework twin (the other frameworks: --servers frameworks).
const SUITE_FULL_SERVERS = [...groupMembers('peers'), 'hono-node', 'hono-ugn']
// --quick: the baseline, ugn's native interface and one framework twin, scenario 1.
const QUICK_SERVERS = ['node-http', 'ugn-native', 'hono-node', 'hono-ugn']

const USAGE = `Usage: node bench/run.mjs [flags]

  --suite full           everything in one command: both modes (per-core, then full), every
                         scenario, the servers ${SUITE_FULL_SERVERS.join(', ')};
                         wrk only, 3 runs x 1 s, warm-up 1 s (each overridable by the flags
                         below; about 10 minutes), plus the load generators' ceilings
  --mode per-core|full   per-core (default): server pinned to core 0 (ugn --workers 1,
                         node:http 1 process), load generator pinned to core 1.
                         full: nothing pinned, ugn --workers 2, node:cluster with 2 workers.
  --duration S           seconds per measured run (default 10; --quick: 3)
  --warmup S             seconds of wrk warm-up per server after start (default 3; --quick: 1)
  --runs N               measured runs per server and tool, interleaved A B / B A (default 3; --quick: 1)
  --servers a,b          subset of: ${SERVERS.map((s) => s.name).join(', ')}
                         (default: all but the opt-in ones), or a group: ${GROUPS.map((g) => `${g} (${groupMembers(g).join(', ')})`).join('; ')}
  --scenarios a,b        subset of: ${SCENARIOS.map((s) => s.name).join(', ')} (default: all)
  --tools wrk,autocannon load generators (default: both; --suite full and --quick: wrk)
  --ceiling              also measure the load generators' ceilings against a canned server
                         (on by default with --suite full and whenever autocannon runs)
  --workers N            override the worker count of the mode (1 per-core, 2 full)
  --wrk-threads N        wrk -t (default 1 per-core, 2 full)
  --ac-workers N         autocannon worker threads (default 0 = main thread only)
  --quick                a few seconds per server, for CI: ${QUICK_SERVERS.join(', ')} on
                         plaintext, 1 x 3 s with wrk (autocannon if wrk is missing); exit 0
                         whenever every selected server started and answered, whatever the
                         numbers; the last line is "bench: N passed, M failed" (N = servers measured)
  --out FILE             JSON results path (default bench/results/<timestamp>.json)
  -h, --help`

// ---------------------------------------------------------------------------------------------
// Flags

function parseFlags(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      suite: { type: 'string' },
      ceiling: { type: 'boolean', default: false },
      mode: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      runs: { type: 'string' },
      servers: { type: 'string' },
      scenarios: { type: 'string' },
      tools: { type: 'string' },
      workers: { type: 'string' },
      'wrk-threads': { type: 'string' },
      'ac-workers': { type: 'string', default: '0' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const num = (v, name, dflt, min = 1) => {
    if (v === undefined) return dflt
    const n = Number(v)
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min}`)
    return n
  }
  if (values.suite != null && values.suite !== 'full') throw new UsageError('--suite must be full')
  const suite = values.suite === 'full'
  if (suite && values.quick) throw new UsageError('--suite full and --quick exclude each other')
  if (values.mode != null && !['per-core', 'full'].includes(values.mode)) throw new UsageError('--mode must be per-core or full')
  const modes = values.mode ? [values.mode] : suite ? ['per-core', 'full'] : ['per-core']
  const short = suite || values.quick
  const pick = (list, table, what, groups = [], dflt = null) => {
    if (!list && dflt) return table.filter((t) => dflt.includes(t.name))
    if (!list) return table.filter((t) => !t.optIn)
    const names = list.split(',').map((s) => s.trim()).filter(Boolean)
      .flatMap((n) => (groups.includes(n) ? groupMembers(n) : [n]))
    for (const n of names) if (!table.some((t) => t.name === n)) throw new UsageError(`unknown ${what} ${n}`)
    return table.filter((t) => names.includes(t.name))
  }
  const tools = (values.tools ?? (short ? 'wrk' : 'wrk,autocannon')).split(',').map((s) => s.trim()).filter(Boolean)
  for (const t of tools) if (!['wrk', 'autocannon'].includes(t)) throw new UsageError(`unknown tool ${t}`)
  const workers = values.workers === undefined ? null : Math.round(num(values.workers, 'workers'))
  const wrkThreads = values['wrk-threads'] === undefined ? null : Math.round(num(values['wrk-threads'], 'wrk-threads'))
  return {
    suite,
    modes,
    quick: values.quick,
    ceiling: values.ceiling || suite,
    duration: num(values.duration, 'duration', suite ? 1 : values.quick ? 3 : 10),
    warmup: num(values.warmup, 'warmup', values.quick || suite ? 1 : 3, 0),
    runs: Math.round(num(values.runs, 'runs', values.quick ? 1 : 3)),
    servers: pick(values.servers, SERVERS, 'server', GROUPS, suite ? SUITE_FULL_SERVERS : values.quick ? QUICK_SERVERS : null),
    scenarios: pick(values.scenarios, SCENARIOS, 'scenario', [], values.quick ? ['plaintext'] : null),
    tools,
    toolsGiven: values.tools != null,
    // Per mode unless given: 1 worker / wrk -t1 per core, 2 / -t2 on the full machine.
    workersFor: (mode) => workers ?? (mode === 'full' ? 2 : 1),
    wrkThreadsFor: (mode) => wrkThreads ?? (mode === 'full' ? 2 : 1),
    acWorkers: Math.round(num(values['ac-workers'], 'ac-workers', 0, 0)),
    out: values.out,
  }
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Small helpers

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

function median(xs) {
  const v = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b)
  if (!v.length) return null
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, HOST, () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

function getOnce(port, urlPath, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
      res.on('error', () => resolve(null))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(null))
  })
}

/** The scenario's request as bytes (method, headers, body), for the wire check. */
function scenarioRequest(port, scenario) {
  const method = scenario.method ?? 'GET'
  const headers = { Host: `${HOST}:${port}`, ...(scenario.headers ?? {}) }
  if (scenario.bodyBytes) headers['Content-Length'] = String(scenario.bodyBytes)
  const head = `${method} ${scenario.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`
  return scenario.bodyBytes ? Buffer.concat([Buffer.from(head, 'latin1'), Buffer.alloc(scenario.bodyBytes, 'a')]) : Buffer.from(head, 'latin1')
}

/** One raw request (the scenario's): the exact response bytes (status line + headers + body). */
function rawExchange(port, request, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const sock = net.connect(port, HOST)
    let buf = Buffer.alloc(0)
    const done = (v) => {
      sock.destroy()
      resolve(v)
    }
    const timer = setTimeout(() => done(buf.length ? buf.toString('latin1') : null), timeoutMs)
    sock.on('connect', () => sock.write(request))
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      const s = buf.toString('latin1')
      const end = s.indexOf('\r\n\r\n')
      if (end < 0) return
      const m = s.slice(0, end).match(/\r\ncontent-length:\s*(\d+)/i)
      if (m && s.length >= end + 4 + Number(m[1])) {
        clearTimeout(timer)
        done(s)
      }
    })
    sock.on('error', () => {
      clearTimeout(timer)
      done(null)
    })
  })
}

// ---------------------------------------------------------------------------------------------
// Environment: dependencies and machine details

/** bench/package.json's packages (autocannon, uWebSockets.js, bun): npm install --prefix bench
 * when one that is needed is missing. Returns null or why not. */
function ensureBenchPackages(pkgs) {
  const have = (p) => existsSync(path.join(BENCH, 'node_modules', p, 'package.json'))
  if (pkgs.every(have)) return null
  log(`bench/node_modules lacks ${pkgs.filter((p) => !have(p)).join(', ')}: npm install --prefix bench`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const r = spawnSync(npm, ['install', '--prefix', BENCH, '--no-audit', '--no-fund'], { stdio: ['ignore', 2, 2], timeout: 600_000 })
  const missing = pkgs.filter((p) => !have(p))
  if (r.status !== 0 || missing.length) return `npm install --prefix bench failed (status ${r.status ?? r.error?.message}; missing ${missing.join(', ')})`
  return null
}

/** bench/.venv with bench/requirements.txt (Gunicorn, Granian). Returns null or why not. */
function ensurePython() {
  const venv = path.join(BENCH, '.venv')
  const py = path.join(venv, 'bin/python')
  const want = readFileSync(path.join(BENCH, 'requirements.txt'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  const tools = ['gunicorn', 'granian']
  const installed = () => {
    const freeze = sh(py, ['-m', 'pip', 'freeze']) ?? ''
    return want.every((w) => freeze.toLowerCase().split('\n').includes(w.toLowerCase())) && tools.every((t) => existsSync(path.join(venv, 'bin', t)))
  }
  if (existsSync(py) && installed()) return null
  const opts = { stdio: ['ignore', 2, 2], timeout: 600_000 }
  if (!existsSync(py)) {
    if (!sh('sh', ['-c', 'command -v python3'])) return 'python3 is not installed'
    log('creating bench/.venv (python3 -m venv)')
    let r = spawnSync('python3', ['-m', 'venv', venv], opts)
    if (r.status !== 0 && isRoot() && sh('sh', ['-c', 'command -v apt-get'])) {
      log('python3 -m venv failed: apt-get install -y python3-venv')
      spawnSync('apt-get', ['install', '-y', 'python3-venv'], { ...opts, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
      r = spawnSync('python3', ['-m', 'venv', '--clear', venv], opts)
    }
    if (r.status !== 0) return 'python3 -m venv failed (install python3-venv)'
  }
  log(`bench/.venv: pip install -r bench/requirements.txt (${want.join(', ')})`)
  const r = spawnSync(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', path.join(BENCH, 'requirements.txt')], opts)
  if (r.status !== 0 || !installed()) return `pip install -r bench/requirements.txt failed (status ${r.status ?? r.error?.message})`
  return null
}

function ensureWrk() {
  if (sh('sh', ['-c', 'command -v wrk'])) return null
  if (!isRoot()) return 'wrk is not installed and we are not root (install it with: apt-get install -y wrk)'
  if (!sh('sh', ['-c', 'command -v apt-get'])) return 'wrk is not installed and apt-get is not available'
  log('wrk missing: apt-get install -y wrk')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const opts = { stdio: ['ignore', 2, 2], env, timeout: 300_000 }
  let r = spawnSync('apt-get', ['install', '-y', 'wrk'], opts)
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], opts)
    r = spawnSync('apt-get', ['install', '-y', 'wrk'], opts)
  }
  return sh('sh', ['-c', 'command -v wrk']) ? null : 'apt-get install -y wrk failed'
}

function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model ?? 'unknown'
  const lscpuE = sh('lscpu', ['-e']) ?? '(lscpu not available)'
  const siblings = []
  for (let i = 0; i < os.cpus().length; i++) {
    try {
      siblings.push(readFileSync(`/sys/devices/system/cpu/cpu${i}/topology/thread_siblings_list`, 'utf8').trim())
    } catch {}
  }
  const htPair = siblings.length >= 2 && siblings[SERVER_CPU] === siblings[CLIENT_CPU]
  const hypervisor = sh('sh', ['-c', "lscpu | sed -n 's/^Hypervisor vendor:[[:space:]]*//p'"]) || null
  let acVersion = null
  try {
    acVersion = JSON.parse(readFileSync(path.join(BENCH, 'node_modules/autocannon/package.json'), 'utf8')).version
  } catch {}
  return {
    cpuModel: model,
    cpus: os.cpus().length,
    lscpuE,
    threadSiblings: siblings,
    cores01AreHyperthreadSiblings: siblings.length >= 2 ? htPair : null,
    hypervisor,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    wrk: sh('sh', ['-c', 'wrk -v 2>&1 | head -1']),
    autocannon: acVersion,
    clkTck: CLK_TCK,
    somaxconn: sh('cat', ['/proc/sys/net/core/somaxconn']),
    nofile: sh('sh', ['-c', 'ulimit -n']),
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

async function startServer(server, ctx, opts) { // opts: { mode }
  const spec = server.command(ctx)
  const pinnedArgs = opts.mode === 'per-core'
    ? { cmd: 'taskset', args: ['-c', String(SERVER_CPU), spec.cmd, ...spec.args] }
    : { cmd: spec.cmd, args: spec.args }
  const commandLine = [pinnedArgs.cmd, ...pinnedArgs.args].join(' ')
  log(`${server.name}: starting: ${commandLine}${spec.cwd ? ` (cwd ${spec.cwd})` : ''}`)
  const rec = startChild(pinnedArgs.cmd, pinnedArgs.args, { env: spec.env, cwd: spec.cwd ?? REPO, label: server.name })
  const info = { name: server.name, label: spec.label, command: commandLine, cwd: spec.cwd ?? REPO, port: ctx.port, rec }

  // Ready when a GET answers 200, bounded to READY_TIMEOUT_MS; fail fast if the process exits.
  const deadline = Date.now() + READY_TIMEOUT_MS
  let last = null
  while (Date.now() < deadline) {
    if (rec.exited) break
    // GET / answers 200 on every server in every scenario (the framework apps route by path and
    // have no GET /upload); the wire check below sends the scenario's own request.
    last = await getOnce(ctx.port, '/')
    if (last?.status === 200) break
    await sleep(100)
  }
  if (last?.status !== 200) {
    const why = rec.exited
      ? `exited (${rec.exited.error ?? rec.exited.signal ?? `code ${rec.exited.code}`}) before answering`
      : `no 200 on GET / within ${READY_TIMEOUT_MS / 1000} s (last: ${last ? last.status : 'no answer'})`
    await stopChild(rec, STOP_GRACE_MS)
    const tail = rec.stderrTail.slice(-15).map((l) => `    ${l}`).join('\n')
    throw new Error(`${server.name}: ${why}${tail ? `\n  output tail:\n${tail}` : ''}`)
  }

  // Wire check: exact bytes of one response, and the scenario's expectations.
  const raw = await rawExchange(ctx.port, scenarioRequest(ctx.port, ctx.scenario))
  info.wire = raw
  info.wireProblems = []
  if (raw) {
    const [head, body] = [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n') + 4)]
    const lines = head.split('\r\n')
    info.statusLine = lines[0]
    info.headerNames = lines.slice(1).map((l) => l.slice(0, l.indexOf(':')))
    info.responseBytes = Buffer.byteLength(raw, 'latin1')
    const e = ctx.scenario.expect
    if (!lines[0].startsWith(`HTTP/1.1 ${e.status}`)) info.wireProblems.push(`status line ${JSON.stringify(lines[0])}`)
    if (e.body != null && body !== e.body) info.wireProblems.push(`body ${JSON.stringify(body.slice(0, 60))}`)
    if (e.bodyLength != null && body.length !== e.bodyLength) info.wireProblems.push(`body of ${body.length} bytes, not ${e.bodyLength}`)
    // The media type only: Express and Hono add a charset to text/plain, the same content.
    const ct = lines.find((l) => /^content-type:/i.test(l))
    const mediaType = ct?.slice(13).split(';')[0].trim().toLowerCase()
    if (e.contentType && mediaType !== e.contentType) info.wireProblems.push(`content-type ${JSON.stringify(ct ?? null)}`)
  } else {
    info.wireProblems.push('no complete response to the scenario\'s request')
  }

  // Process tree, worker pids and pinning.
  await sleep(200)
  info.tree = processTree(rec.child.pid)
  info.bootedWorkers = rec.stderrTail
    .map((l) => l.match(/Booting worker with pid: (\d+)/)?.[1])
    .filter(Boolean)
    .map(Number)
  info.affinity = Object.fromEntries(info.tree.map((p) => [p, cpusAllowed(p)]))
  if (opts.mode === 'per-core') {
    const off = Object.entries(info.affinity).filter(([, c]) => c !== String(SERVER_CPU))
    if (off.length) info.wireProblems.push(`not all server processes pinned to ${SERVER_CPU}: ${JSON.stringify(info.affinity)}`)
  }
  log(`${server.name}: ready on ${HOST}:${ctx.port}; tree ${info.tree.join(',')}` +
    (info.bootedWorkers.length ? `; booted workers ${info.bootedWorkers.join(',')}` : '') +
    `; ${info.responseBytes ?? '?'} bytes/response`)
  for (const p of info.wireProblems) log(`${server.name}: WARNING: ${p}`)
  return info
}

function treeRssKiB(root) {
  return processTree(root).reduce((sum, p) => sum + vmHwmKiB(p), 0)
}

// ---------------------------------------------------------------------------------------------
// Idle connections (scenario.idle): lib/idle-holder.mjs, on the load generator's core, for the
// length of one measured run.

async function startIdleHolder(port, scenario, cpus) {
  const args = [path.join(BENCH, 'lib/idle-holder.mjs'), JSON.stringify({ port, count: scenario.idle, path: scenario.path })]
  const rec = cpus == null
    ? startChild(process.execPath, args, { keepStdout: true, label: 'idle-holder' })
    : startChild('taskset', ['-c', String(cpus), process.execPath, ...args], { keepStdout: true, label: 'idle-holder' })
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline && !rec.exited && !/IDLE_READY/.test(rec.stdout)) await sleep(50)
  const m = rec.stdout.match(/IDLE_READY (\d+) (\d+)/)
  if (!m) {
    await stopChild(rec, 1000)
    throw new Error(`the idle-connection holder did not get ready: ${rec.stderrTail.slice(-3).join(' | ')}`)
  }
  return { rec, openAtStart: Number(m[1]), answeredAtStart: Number(m[2]) }
}

async function stopIdleHolder(h) {
  try {
    h.rec.child.kill('SIGTERM')
  } catch {}
  await Promise.race([h.rec.closed, sleep(3000)])
  await stopChild(h.rec, 1000)
  const line = h.rec.stdout.split('\n').find((l) => l.startsWith('IDLE_JSON '))
  if (!line) return null
  const st = JSON.parse(line.slice('IDLE_JSON '.length))
  return { ...st, openAtStart: h.openAtStart, answeredDuringRun: st.answered - h.answeredAtStart }
}

// ---------------------------------------------------------------------------------------------
// The load generators' own ceilings: each against servers/canned.mjs (a raw TCP responder that
// writes a fixed response per request, no HTTP parsing), in the per-core layout.

async function measureCeilings(tools, opts) {
  const { runAutocannon, runWrk } = await import('./lib/tools.mjs')
  const port = await freePort()
  const rec = startChild('taskset', ['-c', String(SERVER_CPU), process.execPath, path.join(BENCH, 'servers/canned.mjs')], {
    env: { HOST, PORT: String(port) }, label: 'canned',
  })
  const out = {}
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS
    while (Date.now() < deadline && !rec.exited && (await getOnce(port, '/'))?.status !== 200) await sleep(100)
    const url = `http://${HOST}:${port}/`
    const duration = Math.max(2, Math.min(opts.duration, 5))
    for (const tool of tools) {
      log(`ceiling: ${tool} against the canned server, ${duration} s`)
      const load = { url, connections: 100, duration, cpus: CLIENT_CPU }
      const r = tool === 'wrk' ? await runWrk({ ...load, threads: 1 }) : await runAutocannon({ ...load, workers: opts.acWorkers })
      const cpu = treeCpu(rec.child.pid)
      out[tool] = { rps: r.rps, clientCpuPercent: r.clientCpuPercent, p99_ms: r.p99_ms, duration_s: r.duration_s, cannedCpuTicks: [...cpu.values()].reduce((a, b) => a + b, 0) }
    }
  } finally {
    await stopChild(rec, 1000)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const opts = parseFlags(process.argv.slice(2))
  const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)
  const cmdline = ['node', path.relative(process.cwd(), process.argv[1]) || process.argv[1], ...process.argv.slice(2)].map(quote).join(' ')
  const notes = []

  // Dependencies: load generators.
  let tools = [...opts.tools]
  const wantCeiling = !opts.quick && (opts.ceiling || tools.includes('autocannon'))
  if (tools.includes('wrk') || opts.warmup > 0) {
    const why = ensureWrk()
    if (why) {
      tools = tools.filter((t) => t !== 'wrk')
      if (!tools.length && !opts.toolsGiven) tools = ['autocannon']
      notes.push(`wrk: skipped (${why}); running ${tools.join(', ') || 'nothing'}`)
    }
  }
  let haveAutocannon = false
  if (tools.includes('autocannon') || wantCeiling) {
    const why = ensureBenchPackages(['autocannon'])
    haveAutocannon = !why
    if (why) {
      notes.push(`autocannon: skipped (${why})`)
      tools = tools.filter((t) => t !== 'autocannon')
    }
  }
  const haveWrk = !!sh('sh', ['-c', 'command -v wrk'])
  if (!tools.length) throw new Error(`no load generator available: ${notes.join('; ')}`)
  const { runAutocannon, runWrk } = await import('./lib/tools.mjs')

  // Dependencies: peers (each server then says itself whether it can run).
  const names = opts.servers.map((s) => s.name)
  const pkgs = [...(names.includes('uws') ? ['@btc-vision/uwebsockets.js'] : []), ...(names.includes('bun') ? ['bun'] : [])]
  if (pkgs.length) {
    const why = ensureBenchPackages(pkgs)
    if (why) notes.push(`peers: ${why}`)
  }
  if (opts.servers.some((s) => s.python)) {
    const why = ensurePython()
    if (why) notes.push(`python peers: ${why}`)
  }

  const machine = machineInfo()
  if (opts.modes.includes('per-core') && machine.cpus < 2) throw new Error('per-core mode needs at least 2 CPUs (use --mode full)')

  // Header.
  const started = new Date()
  const out = []
  const say = (s = '') => {
    out.push(s)
    process.stdout.write(`${s}\n`)
  }
  const modeLine = (mode) => (mode === 'per-core'
    ? `per-core: server taskset -c ${SERVER_CPU}, load generator taskset -c ${CLIENT_CPU}; workers ${opts.workersFor(mode)}; wrk -t${opts.wrkThreadsFor(mode)}`
    : `full: unpinned; workers ${opts.workersFor(mode)}; wrk -t${opts.wrkThreadsFor(mode)}`)
  say(`# ugn bench: ${opts.scenarios.map((s) => s.name).join(', ')} (${opts.modes.join(', then ')})`)
  say()
  say('```')
  say(`command:   ${cmdline}`)
  say(`date:      ${started.toISOString()}`)
  say(`cpu:       ${machine.cpuModel} x${machine.cpus}${machine.hypervisor ? ` (VM, hypervisor ${machine.hypervisor})` : ''}`)
  say(`siblings:  ${machine.threadSiblings.map((s, i) => `cpu${i}:[${s}]`).join(' ')} -> cores ${SERVER_CPU} and ${CLIENT_CPU} ${machine.cores01AreHyperthreadSiblings ? 'ARE' : 'are not'} hyperthread siblings (as the guest sees them)`)
  say(`kernel:    ${machine.kernel}`)
  say(`node:      ${machine.node}`)
  say(`wrk:       ${machine.wrk ?? 'not installed'}`)
  say(`autocannon:${machine.autocannon ? ` ${machine.autocannon}` : ' not installed'}`)
  say(`peers:     ${peerVersions(names)}`)
  say(`loadavg:   ${machine.loadavg} (at start)`)
  for (const mode of opts.modes) say(`mode:      ${modeLine(mode)}`)
  say(`load:      ${opts.runs} run(s) x ${opts.duration} s per server and tool, interleaved; warm-up ${opts.warmup} s; tools ${tools.join(', ')}; autocannon workers ${opts.acWorkers}`)
  say('lscpu -e:')
  for (const l of machine.lscpuE.split('\n')) say(`  ${l}`)
  say('```')
  for (const n of notes) say(`- ${n}`)

  const results = {
    startedAt: started.toISOString(),
    command: cmdline,
    argv: process.argv.slice(2),
    options: { ...opts, servers: names, scenarios: opts.scenarios.map((s) => s.name), tools, workers: Object.fromEntries(opts.modes.map((m) => [m, opts.workersFor(m)])) },
    machine,
    notes,
    ceilings: null,
    modes: [],
    scenarios: [],
  }
  let failed = false
  const tally = { passed: 0, failed: 0 }
  // The JSON is written after every scenario (finishedAt unset until the end), so a long run
  // that is stopped still leaves what it measured.
  const file = opts.out ?? path.join(BENCH, 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`)
  mkdirSync(path.dirname(file), { recursive: true })
  const save = () => {
    results.report = out.join('\n')
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  }

  // The load generators' ceilings.
  let ceilings = null
  if (wantCeiling) {
    sh('taskset', ['-a', '-p', '-c', String(CLIENT_CPU), String(process.pid)])
    const ceilTools = [...new Set([...(haveWrk ? ['wrk'] : []), ...(haveAutocannon ? ['autocannon'] : [])])]
    try {
      ceilings = await measureCeilings(ceilTools, opts)
      results.ceilings = ceilings
      say()
      say('## Load generators\' ceilings')
      say()
      say(`Each tool on core ${CLIENT_CPU}, 100 connections, against \`servers/canned.mjs\` on core ${SERVER_CPU} (a raw TCP responder writing a fixed 13-byte response per request, no HTTP parsing). A server that reaches a tool's figure is measuring the tool.`)
      say()
      for (const l of ceilingLines(ceilings)) say(l)
    } catch (err) {
      log(`ceiling: ${err.message}`)
      say(`- ceilings not measured: ${err.message.split('\n')[0]}`)
    }
  }

  for (const mode of opts.modes) {
    // Keep this harness off the server's core in per-core mode; anywhere in full mode.
    sh('taskset', ['-a', '-p', '-c', mode === 'per-core' ? String(CLIENT_CPU) : `0-${machine.cpus - 1}`, String(process.pid)])
    const modeRes = { mode, workers: opts.workersFor(mode), wrkThreads: opts.wrkThreadsFor(mode), scenarios: [] }
    // In the JSON, modes[] names its scenarios; the results are in scenarios[] (each has its mode).
    results.modes.push({ ...modeRes, scenarios: [] })
    if (opts.modes.length > 1) {
      say()
      say(`# ${mode === 'per-core' ? 'Per core' : 'Full machine'}: ${modeLine(mode)}`)
    }
    for (const scenario of opts.scenarios) {
      const sres = await runScenario(mode, scenario, { opts, tools, haveWrk, runWrk, runAutocannon, say, ceilings })
      modeRes.scenarios.push(sres)
      results.scenarios.push(sres)
      results.modes.at(-1).scenarios.push(sres.scenario)
      failed ||= sres.failed
      tally.passed += sres.tally.passed
      tally.failed += sres.tally.failed
      save()
    }
    if (opts.scenarios.length > 1) printRatioMatrix(modeRes, tools, say)
  }

  say()
  say('req/s: median over runs (completed responses / measured seconds); spread: ±half of (max-min)/median.')
  say('Latency: median over runs of each run\'s p50/p99/max. µs CPU/req: server process tree utime+stime over the run / responses (idle1000: including the idle connections\' answers).')
  say('server CPU / client CPU: % of one core over the run; client CPU near 100% means the load generator, not the server, is the limit.')
  say('other CPU: busy time of the whole machine (/proc/stat) minus server, client and harness, % of one core, worst run: other users of a shared box. steal: hypervisor steal time (/proc/stat) over both cores, same unit. Distrust rows where either is high.')

  results.finishedAt = new Date().toISOString()
  results.ok = !failed
  results.tally = tally
  save()
  say(`\nresults: ${path.relative(process.cwd(), file)}`)
  // One line for scripts/test.mjs to sum: a server (per scenario and mode) passes when it
  // started, answered the wire check and served 2xx responses in every run; the numbers never
  // fail it. Skipped servers are not counted.
  say(`bench: ${tally.passed} passed, ${tally.failed} failed`)
  return failed ? 1 : 0
}

function peerVersions(names) {
  const v = []
  const pkgVersion = (p) => {
    try {
      return JSON.parse(readFileSync(path.join(BENCH, 'node_modules', p, 'package.json'), 'utf8')).version
    } catch {
      return null
    }
  }
  if (names.includes('uws')) v.push(`uWebSockets.js ${pkgVersion('@btc-vision/uwebsockets.js') ?? '-'}`)
  if (names.includes('bun')) v.push(`bun ${sh(path.join(BENCH, 'node_modules/bun/bin/bun.exe'), ['--version']) ?? '-'}`)
  const py = path.join(BENCH, '.venv/bin/python')
  if (names.includes('gunicorn') || names.includes('granian')) {
    v.push(sh(py, ['--version']) ?? 'python -')
    const freeze = (sh(py, ['-m', 'pip', 'freeze']) ?? '').split('\n')
    for (const p of ['gunicorn', 'granian']) if (names.includes(p)) v.push(freeze.find((l) => l.toLowerCase().startsWith(`${p}==`)) ?? `${p} -`)
  }
  return v.join(', ') || '-'
}

/** One table per mode: each server's req/s over node-http's, per scenario (wrk if it ran). */
function printRatioMatrix(modeRes, tools, say) {
  const tool = tools.includes('wrk') ? 'wrk' : tools[0]
  const lines = ratioMatrix(modeRes.scenarios, tool)
  if (!lines.length) return
  say()
  say(`## Summary (${modeRes.mode}): req/s (${tool}, median) and ratio to node-http, same scenario, same invocation`)
  say()
  for (const l of lines) say(l)
  for (const r of skipReasons(modeRes.scenarios)) say(`- skip ${r}`)
}

async function runScenario(mode, scenario, { opts, tools, haveWrk, runWrk, runAutocannon, say, ceilings }) {
  const workers = opts.workersFor(mode)
  const wrkThreads = opts.wrkThreadsFor(mode)
  const cpus = mode === 'per-core' ? CLIENT_CPU : null
  const sres = {
    mode, scenario: scenario.name, description: scenario.description, servers: [], skipped: [], errors: [], runs: [], summary: [],
    failed: false, tally: { passed: 0, failed: 0 },
  }
  const request = { method: scenario.method, headers: scenario.headers, bodyBytes: scenario.bodyBytes, pipelining: scenario.pipelining }
  say()
  say(`## ${scenario.name}${opts.modes.length > 1 ? ` (${mode})` : ''}: ${scenario.description}; ${scenario.connections} connections${scenario.idle ? ` + ${scenario.idle} idle` : ''}`)
  say()

  // Start every selected server once (all at once: nothing is measured yet), warm each up in
  // turn, keep them running across the interleaved runs.
  const running = []
  const failedServers = new Set()
  const starting = []
  for (const server of opts.servers) {
    const ctx = { repo: REPO, bench: BENCH, mode, workers, scenario, port: 0 }
    const skip = server.skip(ctx)
    if (skip) {
      const line = `${server.name}: skipped (${skip})`
      log(line)
      say(`- ${line}`)
      sres.skipped.push({ server: server.name, reason: skip })
      continue
    }
    // The servers start together, so a port the kernel hands out twice would be bound twice.
    do ctx.port = await freePort()
    while (starting.some((x) => x.port === ctx.port))
    starting.push({ port: ctx.port, server, info: startServer(server, ctx, { mode }) })
  }
  for (const { server, info: pending } of starting) {
    try {
      const info = await pending
      info.baseline = !!server.baseline
      info.peakRssKiB = 0
      running.push(info)
      if (opts.warmup > 0) {
        const url = `http://${HOST}:${info.port}${scenario.path}`
        log(`${server.name}: warm-up ${opts.warmup} s`)
        const load = { url, connections: scenario.connections, duration: opts.warmup, cpus, threads: wrkThreads, ...request }
        if (haveWrk) await runWrk(load)
        else await runAutocannon({ ...load, workers: opts.acWorkers })
      }
    } catch (err) {
      sres.failed = true
      failedServers.add(server.name)
      log(err.message)
      say(`- ${server.name}: FAILED to start: ${err.message.split('\n')[0]}`)
      sres.errors.push({ server: server.name, phase: 'start', error: err.message })
    }
  }

  // Measured runs: A B, then B A, ... so drift hits every server alike.
  for (let run = 0; run < opts.runs; run++) {
    const order = run % 2 ? [...running].reverse() : running
    for (const info of order) {
      const toolOrder = run % 2 ? [...tools].reverse() : tools
      for (const tool of toolOrder) {
        if (info.rec.exited) {
          sres.failed = true
          failedServers.add(info.name)
          sres.errors.push({ server: info.name, run, tool, error: `server exited: ${JSON.stringify(info.rec.exited)}` })
          continue
        }
        const url = `http://${HOST}:${info.port}${scenario.path}`
        const load = { url, connections: scenario.connections, duration: opts.duration, cpus, ...request }
        log(`run ${run + 1}/${opts.runs}: ${info.name} with ${tool}, ${opts.duration} s`)
        let holder = null
        try {
          if (scenario.idle) holder = await startIdleHolder(info.port, scenario, cpus)
          const before = treeCpu(info.rec.child.pid)
          const treeBefore = [...before.keys()]
          const cores0 = coreStats()
          const self0 = process.cpuUsage()
          const r = tool === 'wrk'
            ? await runWrk({ ...load, threads: wrkThreads })
            : await runAutocannon({ ...load, workers: opts.acWorkers })
          const after = treeCpu(info.rec.child.pid)
          const cores = coreStatsDelta(cores0, coreStats())
          const selfCpu = process.cpuUsage(self0)
          const idle = holder ? await stopIdleHolder(holder) : null
          holder = null
          const d = cpuDelta(before, after)
          const harness_s = (selfCpu.user + selfCpu.system) / 1e6
          // CPU used by anything other than server, load generator and this harness, as % of one
          // core over the tool's wall time: other users of this shared machine (and the idle holder).
          const machineBusy_s = cores.cpu ? cores.cpu.busy_s : 0
          const other_s = Math.max(0, machineBusy_s - d.seconds - r.clientCpu_s - harness_s)
          info.peakRssKiB = Math.max(info.peakRssKiB, treeRssKiB(info.rec.child.pid))
          const served = r.requests + (idle?.answeredDuringRun ?? 0)
          const entry = {
            run, server: info.name, tool, ...r,
            serverCpu_s: d.seconds,
            serverCpuPercent: (d.seconds / r.duration_s) * 100,
            usCpuPerRequest: served ? (d.seconds * 1e6) / served : null,
            idle,
            serverTreeBefore: treeBefore,
            serverTreeAfter: [...after.keys()],
            serverPidsLost: d.lost,
            serverPeakRssKiB: treeRssKiB(info.rec.child.pid),
            harnessCpu_s: harness_s,
            otherCpuPercent: (other_s / r.wall_s) * 100,
            stealPercent: cores.cpu ? (cores.cpu.steal_s / r.wall_s) * 100 : null,
            cores,
          }
          if (d.lost.length) log(`${info.name}: WARNING: processes ${d.lost.join(',')} exited during the run; their CPU is not counted`)
          if (!r.requests || r.non2xx === r.requests) {
            sres.failed = true
            failedServers.add(info.name)
            sres.errors.push({ server: info.name, run, tool, error: 'no 2xx responses' })
          }
          log(`  ${r.rps.toFixed(0)} req/s, p99 ${r.p99_ms?.toFixed(2) ?? '-'} ms, ${entry.usCpuPerRequest?.toFixed(2)} µs CPU/req, client CPU ${r.clientCpuPercent.toFixed(0)}%, other CPU ${entry.otherCpuPercent.toFixed(0)}%, steal ${entry.stealPercent?.toFixed(0)}%` +
            (idle ? `; idle: ${idle.openAtStart} open at start, ${idle.closedByServer} closed by the server, ${idle.answeredDuringRun} answered` : ''))
          sres.runs.push(entry)
        } catch (err) {
          if (holder) await stopIdleHolder(holder).catch(() => null)
          sres.failed = true
          failedServers.add(info.name)
          log(`${info.name} ${tool}: ${err.message}`)
          sres.errors.push({ server: info.name, run, tool, error: err.message })
        }
      }
    }
  }

  // Stop the servers of this scenario, all at once.
  for (const info of running) info.peakRssKiB = Math.max(info.peakRssKiB, treeRssKiB(info.rec.child.pid))
  await Promise.all(running.map((info) => stopChild(info.rec, STOP_GRACE_MS)))
  for (const info of running) {
    sres.servers.push({
      name: info.name, label: info.label, command: info.command, cwd: info.cwd, port: info.port,
      baseline: info.baseline, tree: info.tree, bootedWorkers: info.bootedWorkers, affinity: info.affinity,
      statusLine: info.statusLine, headerNames: info.headerNames, responseBytes: info.responseBytes,
      wire: info.wire?.length > 4096 ? `${info.wire.slice(0, 4096)}...(${info.wire.length} bytes)` : info.wire,
      wireProblems: info.wireProblems, peakRssKiB: info.peakRssKiB,
      exit: info.rec.exited, logTail: info.rec.stderrTail.slice(-40),
    })
  }
  for (const s of opts.servers) {
    if (sres.skipped.some((k) => k.server === s.name)) continue
    if (failedServers.has(s.name)) sres.tally.failed++
    else sres.tally.passed++
  }

  // Summary: medians per server and tool; ratio to the baseline with the same tool.
  const baseline = running.find((s) => s.baseline)
  for (const info of running) {
    for (const tool of tools) {
      const rs = sres.runs.filter((r) => r.server === info.name && r.tool === tool)
      if (!rs.length) continue
      const rps = rs.map((r) => r.rps)
      const med = median(rps)
      sres.summary.push({
        server: info.name, label: info.label, tool, runs: rs.length,
        rps: med, rpsMin: Math.min(...rps), rpsMax: Math.max(...rps),
        spreadPct: med ? ((Math.max(...rps) - Math.min(...rps)) / med) * 100 : null,
        p50_ms: median(rs.map((r) => r.p50_ms)),
        p99_ms: median(rs.map((r) => r.p99_ms)),
        max_ms: median(rs.map((r) => r.max_ms)),
        non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
        socketErrors: rs.reduce((a, r) => a + r.socketErrors, 0),
        usCpuPerRequest: median(rs.map((r) => r.usCpuPerRequest)),
        serverCpuPercent: median(rs.map((r) => r.serverCpuPercent)),
        clientCpuPercent: median(rs.map((r) => r.clientCpuPercent)),
        otherCpuPercentMax: Math.max(...rs.map((r) => r.otherCpuPercent)),
        stealPercentMax: Math.max(...rs.map((r) => r.stealPercent ?? 0)),
        bytesPerResponse: median(rs.map((r) => r.bytesPerResponse)),
        peakRssMiB: info.peakRssKiB / 1024,
        idleClosedByServer: rs.some((r) => r.idle) ? rs.reduce((a, r) => a + (r.idle?.closedByServer ?? 0), 0) : null,
      })
    }
  }
  const twinOf = new Map(opts.servers.filter((s) => s.twin).map((s) => [s.name, s.twin]))
  for (const row of sres.summary) {
    const base = baseline && sres.summary.find((r) => r.server === baseline.name && r.tool === row.tool)
    row.ratio = base?.rps ? row.rps / base.rps : null
    const twin = sres.summary.find((r) => r.server === twinOf.get(row.server) && r.tool === row.tool)
    if (twin) {
      row.twin = twin.server
      row.twinRatio = twin.rps ? row.rps / twin.rps : null
      row.twinCpuRatio = row.usCpuPerRequest ? twin.usCpuPerRequest / row.usCpuPerRequest : null
    }
    if (row.tool === 'autocannon' && ceilings?.autocannon?.rps) row.acCeilingFraction = row.rps / ceilings.autocannon.rps
  }

  // Table.
  const f = (x, d = 0) => (x == null ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }))
  const ms = (x) => (x == null ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(1))
  say('| server | tool | req/s (median) | spread | p50 ms | p99 ms | max ms | non-2xx | socket errors | µs CPU/req | server CPU | client CPU | other / steal (max) | peak RSS MiB | B/resp | ratio vs node-http |')
  say('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|')
  for (const r of sres.summary) {
    say(`| ${r.server} (${r.label}) | ${r.tool} | ${f(r.rps)}${r.acCeilingFraction >= 0.85 ? ' (capped)' : ''} | ±${f(r.spreadPct / 2, 1)}% | ${ms(r.p50_ms)} | ${ms(r.p99_ms)} | ${ms(r.max_ms)} | ${f(r.non2xx)} | ${f(r.socketErrors)} | ${f(r.usCpuPerRequest, 2)} | ${f(r.serverCpuPercent)}% | ${f(r.clientCpuPercent)}% | ${f(r.otherCpuPercentMax)}% / ${f(r.stealPercentMax)}% | ${f(r.peakRssMiB, 1)} | ${f(r.bytesPerResponse, 1)} | ${r.ratio == null ? '-' : `${r.ratio.toFixed(2)}x`} |`)
  }
  if (!sres.summary.length) say('(no measurements)')
  const capped = sres.summary.filter((r) => r.acCeilingFraction >= 0.85)
  if (capped.length) say(`- (capped): autocannon at ${Math.round(ceilings.autocannon.rps).toLocaleString('en-US')} req/s or within 15% of it, its own ceiling: ${capped.map((r) => r.server).join(', ')}. Quote wrk for these.`)
  const idleRows = sres.summary.filter((r) => r.idleClosedByServer != null)
  if (idleRows.length) say(`- idle connections the server closed during the measured runs (reopened): ${idleRows.map((r) => `${r.server} ${r.idleClosedByServer}`).join(', ')}`)
  const twinRows = sres.summary.filter((r) => r.twin)
  if (twinRows.length) {
    // The same app on two servers, side by side: the figure the framework peers exist for.
    const rowOf = (name, tool) => sres.summary.find((r) => r.server === name && r.tool === tool)
    say()
    say('| server vs twin | tool | req/s | twin req/s | req/s ratio | µs CPU/req | twin µs CPU/req | CPU/req ratio (twin / server) |')
    say('|---|---|--:|--:|--:|--:|--:|--:|')
    for (const r of twinRows) {
      const t = rowOf(r.twin, r.tool)
      say(`| ${r.server} vs ${r.twin} | ${r.tool} | ${f(r.rps)} | ${f(t.rps)} | ${r.twinRatio == null ? '-' : `${r.twinRatio.toFixed(2)}x`} | ${f(r.usCpuPerRequest, 2)} | ${f(t.usCpuPerRequest, 2)} | ${r.twinCpuRatio == null ? '-' : `${r.twinCpuRatio.toFixed(2)}x`} |`)
    }
  }
  for (const e of sres.errors) say(`- error: ${e.server}${e.tool ? ` ${e.tool} run ${e.run + 1}` : ''}: ${e.error.split('\n')[0]}`)
  for (const s of sres.servers) for (const p of s.wireProblems) say(`- WARNING: ${s.name}: ${p}`)
  const sizes = new Set(sres.servers.map((s) => s.responseBytes))
  if (sizes.size > 1) {
    say(`- response sizes differ: ${sres.servers.map((s) => `${s.name} ${s.responseBytes ?? '?'} B [${s.headerNames?.join(', ') ?? 'no complete response'}]`).join('; ')}`)
  }
  return sres
}

// ---------------------------------------------------------------------------------------------
// Cleanup on every path out.

let stopping = false
async function shutdown(code) {
  if (stopping) return
  stopping = true
  await stopAll(STOP_GRACE_MS)
  process.exit(code)
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping servers and load generators`)
    shutdown(sig === 'SIGINT' ? 130 : 143)
  })
}
process.on('exit', killAllNow)

main().then(
  (code) => shutdown(code),
  (err) => {
    if (err instanceof UsageError || String(err.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`bench: ${err.message}\n\n${USAGE}\n`)
      return shutdown(2)
    }
    process.stderr.write(`bench: ${err.stack ?? err}\n`)
    return shutdown(1)
  },
)
