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
import { SCENARIOS } from './scenarios.mjs'
import { SERVERS } from './servers.mjs'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.dirname(BENCH)
const HOST = '127.0.0.1' // load goes to loopback only
const SERVER_CPU = 0 // per-core mode: server on core 0, load generator (and this harness) on core 1
const CLIENT_CPU = 1
const READY_TIMEOUT_MS = 20_000
const STOP_GRACE_MS = 5_000

const GROUPS = [...new Set(SERVERS.flatMap((s) => (s.group ? [s.group] : [])))]
/** A group's servers: the baseline first, so every ratio has its divisor. */
const groupMembers = (g) => SERVERS.filter((s) => s.baseline || s.group === g).map((s) => s.name)

const USAGE = `Usage: node bench/run.mjs [flags]

  --mode per-core|full   per-core (default): server pinned to core 0 (ugn --workers 1,
                         node:http 1 process), load generator pinned to core 1.
                         full: nothing pinned, ugn --workers 2, node:cluster with 2 workers.
  --duration S           seconds per measured run (default 10; --quick: 3)
  --warmup S             seconds of wrk warm-up per server after start (default 3; --quick: 1)
  --runs N               measured runs per server and tool, interleaved A B / B A (default 3; --quick: 1)
  --servers a,b          subset of: ${SERVERS.map((s) => s.name).join(', ')}
                         (default: all but the opt-in ones), or a group: ${GROUPS.map((g) => `${g} (${groupMembers(g).join(', ')})`).join('; ')}
  --scenarios a,b        subset of: ${SCENARIOS.map((s) => s.name).join(', ')} (default: all)
  --tools wrk,autocannon load generators (default: both)
  --workers N            override the worker count of the mode (1 per-core, 2 full)
  --wrk-threads N        wrk -t (default 1 per-core, 2 full)
  --ac-workers N         autocannon worker threads (default 0 = main thread only)
  --quick                a few seconds per server, for CI: exit 0 whenever every selected
                         server started and answered, whatever the numbers
  --out FILE             JSON results path (default bench/results/<timestamp>.json)
  -h, --help`

// ---------------------------------------------------------------------------------------------
// Flags

function parseFlags(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'per-core' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      runs: { type: 'string' },
      servers: { type: 'string' },
      scenarios: { type: 'string' },
      tools: { type: 'string', default: 'wrk,autocannon' },
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
  if (!['per-core', 'full'].includes(values.mode)) throw new UsageError('--mode must be per-core or full')
  const full = values.mode === 'full'
  const pick = (list, table, what, groups = []) => {
    if (!list) return table.filter((t) => !t.optIn)
    const names = list.split(',').map((s) => s.trim()).filter(Boolean)
      .flatMap((n) => (groups.includes(n) ? groupMembers(n) : [n]))
    for (const n of names) if (!table.some((t) => t.name === n)) throw new UsageError(`unknown ${what} ${n}`)
    return table.filter((t) => names.includes(t.name))
  }
  const tools = values.tools.split(',').map((s) => s.trim()).filter(Boolean)
  for (const t of tools) if (!['wrk', 'autocannon'].includes(t)) throw new UsageError(`unknown tool ${t}`)
  return {
    mode: values.mode,
    quick: values.quick,
    duration: num(values.duration, 'duration', values.quick ? 3 : 10),
    warmup: num(values.warmup, 'warmup', values.quick ? 1 : 3, 0),
    runs: Math.round(num(values.runs, 'runs', values.quick ? 1 : 3)),
    servers: pick(values.servers, SERVERS, 'server', GROUPS),
    scenarios: pick(values.scenarios, SCENARIOS, 'scenario'),
    tools,
    workers: Math.round(num(values.workers, 'workers', full ? 2 : 1)),
    wrkThreads: Math.round(num(values['wrk-threads'], 'wrk-threads', full ? 2 : 1)),
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

/** One raw keep-alive request: the exact response bytes (status line + headers + body). */
function rawExchange(port, urlPath, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const sock = net.connect(port, HOST)
    let buf = Buffer.alloc(0)
    const done = (v) => {
      sock.destroy()
      resolve(v)
    }
    const timer = setTimeout(() => done(buf.length ? buf.toString('latin1') : null), timeoutMs)
    sock.on('connect', () => sock.write(`GET ${urlPath} HTTP/1.1\r\nHost: ${HOST}:${port}\r\n\r\n`))
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

function ensureAutocannon() {
  if (existsSync(path.join(BENCH, 'node_modules/autocannon/package.json'))) return null
  log('bench/node_modules missing: npm install --prefix bench')
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const r = spawnSync(npm, ['install', '--prefix', BENCH, '--no-audit', '--no-fund'], { stdio: ['ignore', 2, 2], timeout: 300_000 })
  if (r.status !== 0 || !existsSync(path.join(BENCH, 'node_modules/autocannon/package.json'))) {
    return `npm install --prefix bench failed (status ${r.status ?? r.error?.message})`
  }
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

async function startServer(server, ctx, opts) {
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
    last = await getOnce(ctx.port, ctx.scenario.path)
    if (last?.status === 200) break
    await sleep(100)
  }
  if (last?.status !== 200) {
    const why = rec.exited
      ? `exited (${rec.exited.error ?? rec.exited.signal ?? `code ${rec.exited.code}`}) before answering`
      : `no 200 on GET ${ctx.scenario.path} within ${READY_TIMEOUT_MS / 1000} s (last: ${last ? last.status : 'no answer'})`
    await stopChild(rec, STOP_GRACE_MS)
    const tail = rec.stderrTail.slice(-15).map((l) => `    ${l}`).join('\n')
    throw new Error(`${server.name}: ${why}${tail ? `\n  output tail:\n${tail}` : ''}`)
  }

  // Wire check: exact bytes of one response, and the scenario's expectations.
  const raw = await rawExchange(ctx.port, ctx.scenario.path)
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
    // The media type only: Express and Hono add a charset to text/plain, the same content.
    const ct = lines.find((l) => /^content-type:/i.test(l))
    const mediaType = ct?.slice(13).split(';')[0].trim().toLowerCase()
    if (e.contentType && mediaType !== e.contentType) info.wireProblems.push(`content-type ${JSON.stringify(ct ?? null)}`)
  } else {
    info.wireProblems.push('no complete response on a raw keep-alive request')
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
// Main

async function main() {
  const opts = parseFlags(process.argv.slice(2))
  const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)
  const cmdline = ['node', path.relative(process.cwd(), process.argv[1]) || process.argv[1], ...process.argv.slice(2)].map(quote).join(' ')
  const notes = []

  // Dependencies.
  let tools = [...opts.tools]
  if (tools.includes('autocannon')) {
    const why = ensureAutocannon()
    if (why) {
      notes.push(`autocannon: skipped (${why})`)
      tools = tools.filter((t) => t !== 'autocannon')
    }
  }
  if (tools.includes('wrk') || opts.warmup > 0) {
    const why = ensureWrk()
    if (why) {
      notes.push(`wrk: skipped (${why}); running autocannon only`)
      tools = tools.filter((t) => t !== 'wrk')
    }
  }
  const haveWrk = !!sh('sh', ['-c', 'command -v wrk'])
  if (!tools.length) throw new Error(`no load generator available: ${notes.join('; ')}`)
  const { runAutocannon, runWrk } = await import('./lib/tools.mjs')

  const machine = machineInfo()
  if (opts.mode === 'per-core') {
    if (machine.cpus < 2) throw new Error('per-core mode needs at least 2 CPUs (use --mode full)')
    // Keep this harness off the server's core too.
    sh('taskset', ['-a', '-p', '-c', String(CLIENT_CPU), String(process.pid)])
  }

  // Header.
  const started = new Date()
  const out = []
  const say = (s = '') => {
    out.push(s)
    process.stdout.write(`${s}\n`)
  }
  say(`# ugn bench: ${opts.scenarios.map((s) => s.name).join(', ')} (${opts.mode})`)
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
  say(`loadavg:   ${machine.loadavg} (at start)`)
  say(`mode:      ${opts.mode === 'per-core' ? `per-core: server taskset -c ${SERVER_CPU}, load generator taskset -c ${CLIENT_CPU}` : 'full: unpinned'}; workers ${opts.workers}`)
  say(`load:      ${opts.runs} run(s) x ${opts.duration} s per server and tool, interleaved; warm-up ${opts.warmup} s wrk; wrk -t${opts.wrkThreads}; autocannon workers ${opts.acWorkers}`)
  say('lscpu -e:')
  for (const l of machine.lscpuE.split('\n')) say(`  ${l}`)
  say('```')
  for (const n of notes) say(`- ${n}`)

  const results = {
    startedAt: started.toISOString(),
    command: cmdline,
    argv: process.argv.slice(2),
    options: { ...opts, servers: opts.servers.map((s) => s.name), scenarios: opts.scenarios.map((s) => s.name), tools },
    machine,
    notes,
    scenarios: [],
  }
  let failed = false

  for (const scenario of opts.scenarios) {
    const sres = { scenario: scenario.name, description: scenario.description, servers: [], skipped: [], errors: [], runs: [], summary: [] }
    results.scenarios.push(sres)
    say()
    say(`## ${scenario.name}: ${scenario.description}; ${scenario.connections} connections`)
    say()

    // Start every selected server once, warm it up, keep it running across the interleaved runs.
    const running = []
    for (const server of opts.servers) {
      const ctx = { repo: REPO, bench: BENCH, mode: opts.mode, workers: opts.workers, scenario, port: 0 }
      const skip = server.skip(ctx)
      if (skip) {
        const line = `${server.name}: skipped (${skip})`
        log(line)
        say(`- ${line}`)
        sres.skipped.push({ server: server.name, reason: skip })
        continue
      }
      ctx.port = await freePort()
      try {
        const info = await startServer(server, ctx, opts)
        info.baseline = !!server.baseline
        info.peakRssKiB = 0
        running.push(info)
        if (opts.warmup > 0) {
          const url = `http://${HOST}:${info.port}${scenario.path}`
          const cpus = opts.mode === 'per-core' ? CLIENT_CPU : null
          log(`${server.name}: warm-up ${opts.warmup} s`)
          const load = { url, connections: scenario.connections, duration: opts.warmup, cpus, threads: opts.wrkThreads, pipelining: scenario.pipelining }
          if (haveWrk) await runWrk(load)
          else await runAutocannon({ ...load, workers: opts.acWorkers })
        }
      } catch (err) {
        failed = true
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
            failed = true
            sres.errors.push({ server: info.name, run, tool, error: `server exited: ${JSON.stringify(info.rec.exited)}` })
            continue
          }
          const url = `http://${HOST}:${info.port}${scenario.path}`
          const cpus = opts.mode === 'per-core' ? CLIENT_CPU : null
          const load = { url, connections: scenario.connections, duration: opts.duration, cpus, pipelining: scenario.pipelining }
          log(`run ${run + 1}/${opts.runs}: ${info.name} with ${tool}, ${opts.duration} s`)
          const before = treeCpu(info.rec.child.pid)
          const treeBefore = [...before.keys()]
          const cores0 = coreStats()
          const self0 = process.cpuUsage()
          try {
            const r = tool === 'wrk'
              ? await runWrk({ ...load, threads: opts.wrkThreads })
              : await runAutocannon({ ...load, workers: opts.acWorkers })
            const after = treeCpu(info.rec.child.pid)
            const d = cpuDelta(before, after)
            const cores = coreStatsDelta(cores0, coreStats())
            const selfCpu = process.cpuUsage(self0)
            const harness_s = (selfCpu.user + selfCpu.system) / 1e6
            // CPU used by anything other than server, load generator and this harness, as % of one
            // core over the tool's wall time: other users of this shared machine.
            const machineBusy_s = cores.cpu ? cores.cpu.busy_s : 0
            const other_s = Math.max(0, machineBusy_s - d.seconds - r.clientCpu_s - harness_s)
            info.peakRssKiB = Math.max(info.peakRssKiB, treeRssKiB(info.rec.child.pid))
            const entry = {
              run, server: info.name, tool, ...r,
              serverCpu_s: d.seconds,
              serverCpuPercent: (d.seconds / r.duration_s) * 100,
              usCpuPerRequest: r.requests ? (d.seconds * 1e6) / r.requests : null,
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
              failed = true
              sres.errors.push({ server: info.name, run, tool, error: 'no 2xx responses' })
            }
            log(`  ${r.rps.toFixed(0)} req/s, p99 ${r.p99_ms.toFixed(2)} ms, ${entry.usCpuPerRequest?.toFixed(2)} µs CPU/req, client CPU ${r.clientCpuPercent.toFixed(0)}%, other CPU ${entry.otherCpuPercent.toFixed(0)}%, steal ${entry.stealPercent?.toFixed(0)}%`)
            sres.runs.push(entry)
          } catch (err) {
            failed = true
            log(`${info.name} ${tool}: ${err.message}`)
            sres.errors.push({ server: info.name, run, tool, error: err.message })
          }
        }
      }
    }

    // Stop the servers of this scenario.
    for (const info of running) {
      info.peakRssKiB = Math.max(info.peakRssKiB, treeRssKiB(info.rec.child.pid))
      await stopChild(info.rec, STOP_GRACE_MS)
      sres.servers.push({
        name: info.name, label: info.label, command: info.command, cwd: info.cwd, port: info.port,
        baseline: info.baseline, tree: info.tree, bootedWorkers: info.bootedWorkers, affinity: info.affinity,
        statusLine: info.statusLine, headerNames: info.headerNames, responseBytes: info.responseBytes,
        wire: info.wire, wireProblems: info.wireProblems, peakRssKiB: info.peakRssKiB,
        exit: info.rec.exited, logTail: info.rec.stderrTail.slice(-40),
      })
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
    }

    // Table.
    const f = (x, d = 0) => (x == null ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }))
    const ms = (x) => (x == null ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(1))
    say('| server | tool | req/s (median) | spread | p50 ms | p99 ms | max ms | non-2xx | socket errors | µs CPU/req | server CPU | client CPU | other / steal (max) | peak RSS MiB | B/resp | ratio vs node-http |')
    say('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|')
    for (const r of sres.summary) {
      say(`| ${r.server} (${r.label}) | ${r.tool} | ${f(r.rps)} | ±${f(r.spreadPct / 2, 1)}% | ${ms(r.p50_ms)} | ${ms(r.p99_ms)} | ${ms(r.max_ms)} | ${f(r.non2xx)} | ${f(r.socketErrors)} | ${f(r.usCpuPerRequest, 2)} | ${f(r.serverCpuPercent)}% | ${f(r.clientCpuPercent)}% | ${f(r.otherCpuPercentMax)}% / ${f(r.stealPercentMax)}% | ${f(r.peakRssMiB, 1)} | ${f(r.bytesPerResponse, 1)} | ${r.ratio == null ? '-' : `${r.ratio.toFixed(2)}x`} |`)
    }
    if (!sres.summary.length) say('(no measurements)')
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
      say(`- WARNING: response sizes differ: ${sres.servers.map((s) => `${s.name} ${s.responseBytes ?? '?'} B [${s.headerNames?.join(', ') ?? 'no complete response'}]`).join('; ')}`)
    }
  }

  say()
  say('req/s: median over runs (completed responses / measured seconds); spread: ±half of (max-min)/median.')
  say('Latency: median over runs of each run\'s p50/p99/max. µs CPU/req: server process tree utime+stime over the run / responses.')
  say('server CPU / client CPU: % of one core over the run; client CPU near 100% means the load generator, not the server, is the limit.')
  say('other CPU: busy time of the whole machine (/proc/stat) minus server, client and harness, % of one core, worst run: other users of a shared box. steal: hypervisor steal time (/proc/stat) over both cores, same unit. Distrust rows where either is high.')

  const file = opts.out ?? path.join(BENCH, 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`)
  mkdirSync(path.dirname(file), { recursive: true })
  results.finishedAt = new Date().toISOString()
  results.ok = !failed
  results.report = out.join('\n')
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  say(`\nresults: ${path.relative(process.cwd(), file)}`)
  return failed ? 1 : 0
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
