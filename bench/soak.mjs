#!/usr/bin/env node
// Soak: ugn with 2 workers on the native hello app under mixed load for a bounded time, while
// workers are killed and the master reloaded. Not run in CI.
//
//   node bench/soak.mjs [--minutes 5] [--every 20] [--sample 5] [--out FILE]
//
// Load (plain node:http clients in this process): keep-alive GETs, keep-alive POST uploads of
// 64 KiB, and GETs on a new connection each. Every --every seconds, alternately, one worker
// gets SIGKILL or the master gets SIGHUP. Every --sample seconds the RSS of the master and of
// each worker is read from /proc. At the end: requests sent, failed (by reason, and by the
// event they followed), RSS over time, the largest RSS of each worker generation; the same as
// JSON in bench/results/soak-<date>.json. UGN_CLI=/path/to/cli.js soaks another build.
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { processTree } from './lib/proc.mjs'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.dirname(BENCH)
const CLI = process.env.UGN_CLI ?? path.join(REPO, 'dist', 'cli.js')
const HOST = '127.0.0.1'

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    every: { type: 'string', default: '20' },
    sample: { type: 'string', default: '5' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
})
if (flags.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 13).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'))
  process.exit(0)
}
const MINUTES = Number(flags.minutes)
const EVERY_S = Number(flags.every)
const SAMPLE_S = Number(flags.sample)
for (const [name, v] of [['minutes', MINUTES], ['every', EVERY_S], ['sample', SAMPLE_S]]) {
  if (!(v > 0)) {
    console.error(`--${name} must be a positive number`)
    process.exit(2)
  }
}
const DURATION_MS = MINUTES * 60_000

/** How many client loops of each kind run at once. */
const LOOPS = { keepAliveGet: 8, upload: 2, newConnection: 2 }
const UPLOAD = Buffer.alloc(64 * 1024, 'u')
const REQUEST_TIMEOUT_MS = 10_000

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const rssKiB = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  } catch {
    return null
  }
}
const ppidOf = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return rest[0] === 'Z' ? null : Number(rest[1])
  } catch {
    return null
  }
}
const mib = (kib) => (kib == null ? '-' : (kib / 1024).toFixed(1))

// ---------------------------------------------------------------------------------------------
// The server

const master = spawn(process.execPath, [CLI, 'examples/hello:app', '--workers', '2', '--bind', `${HOST}:0`], {
  cwd: REPO,
  stdio: ['ignore', 'ignore', 'pipe'],
})
let log = ''
master.stderr.setEncoding('utf8')
master.stderr.on('data', (d) => (log += d))
let masterExit
master.on('exit', (code, signal) => (masterExit = { code, signal }))
const killMaster = () => {
  try {
    process.kill(master.pid, 'SIGKILL')
  } catch {}
}
process.on('exit', killMaster)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

/** Every worker the master has started, in order: { pid, generation, bornS, diedS, maxRssKiB, how }. */
const workers = new Map()
let generation = 0
let nextBirth = 'initial'
let t0 = Date.now()
const nowS = () => (Date.now() - t0) / 1000

/** Finds the master's children in /proc (a worker counts from its spawn, before it logs). */
function track() {
  const children = new Set(processTree(master.pid).filter((pid) => ppidOf(pid) === master.pid))
  for (const pid of children) {
    if (!workers.has(pid)) workers.set(pid, { pid, generation, bornS: nowS(), diedS: null, maxRssKiB: 0, how: nextBirth })
  }
  for (const w of workers.values()) if (w.diedS === null && !children.has(w.pid)) w.diedS = nowS()
}
/** Workers alive and still the master's children. */
function liveWorkers() {
  track()
  return [...workers.values()].filter((w) => w.diedS === null)
}

async function waitReady() {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (masterExit) throw new Error(`ugn exited early ${JSON.stringify(masterExit)}\n${log}`)
    const m = /Listening at: http:\/\/[\d.]+:(\d+)/.exec(log)
    if (m && [...log.matchAll(/Booting worker/g)].length >= 2) {
      const port = Number(m[1])
      const r = await request({ port, method: 'GET', path: '/', agent: false }).catch(() => null)
      if (r?.ok) return port
    }
    await sleep(100)
  }
  throw new Error(`ugn did not become ready within 20 s\n${log}`)
}

// ---------------------------------------------------------------------------------------------
// Load

/** One request; resolves to { ok, reason }. Never rejects. */
function request({ port, method, path: urlPath, agent, body }) {
  const started = Date.now()
  return new Promise((resolve) => {
    let settled = false
    const done = (ok, reason) => {
      if (settled) return
      settled = true
      resolve({ ok, reason, ms: Date.now() - started })
    }
    const req = http.request(
      { host: HOST, port, method, path: urlPath, agent, headers: body ? { 'Content-Length': body.length } : {} },
      (res) => {
        let text = ''
        res.setEncoding('latin1')
        res.on('data', (d) => (text += d))
        res.on('end', () => {
          if (res.statusCode !== 200) done(false, `status ${res.statusCode}`)
          else if (text !== 'Hello, World!') done(false, 'wrong body')
          else done(true)
        })
        res.on('error', (err) => done(false, `response ${err.code ?? err.message}`))
        res.on('aborted', () => done(false, 'response aborted'))
      },
    )
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })))
    req.on('error', (err) => done(false, err.code ?? err.message))
    req.end(body)
  })
}

const SLOW_MS = 1000
const stats = { sent: 0, ok: 0, failed: 0, maxMs: 0, slow: 0, byKind: {}, failures: {} }
/** Each failure is also attributed to the last event (kill or HUP) if within 2 s of it. */
const events = []
let running = true

function record(kind, result) {
  stats.sent++
  stats.maxMs = Math.max(stats.maxMs, result.ms)
  const last = events.at(-1)
  const recent = last && Date.now() - last.at < 2000
  if (recent) last.maxMs = Math.max(last.maxMs, result.ms)
  if (result.ms > SLOW_MS) {
    stats.slow++
    if (recent) last.slow++
  }
  const k = (stats.byKind[kind] ??= { sent: 0, ok: 0, failed: 0 })
  k.sent++
  if (result.ok) {
    stats.ok++
    k.ok++
    return
  }
  stats.failed++
  k.failed++
  const after = recent ? last.type : 'no event within 2 s'
  const key = `${kind}: ${result.reason}`
  const f = (stats.failures[key] ??= { count: 0, after: {} })
  f.count++
  f.after[after] = (f.after[after] ?? 0) + 1
  if (last && after !== 'no event within 2 s') last.failures++
}

async function loop(kind, port, agent) {
  while (running) {
    const opts =
      kind === 'upload'
        ? { port, method: 'POST', path: '/upload', agent, body: UPLOAD }
        : { port, method: 'GET', path: '/', agent: kind === 'newConnection' ? false : agent }
    record(kind, await request(opts))
  }
}

// ---------------------------------------------------------------------------------------------
// Run

const samples = []
function sample() {
  const live = liveWorkers()
  const row = { t: Math.round(nowS()), master: rssKiB(master.pid), workers: {} }
  for (const w of live) {
    const rss = rssKiB(w.pid)
    if (rss == null) continue
    row.workers[w.pid] = rss
    w.maxRssKiB = Math.max(w.maxRssKiB, rss)
  }
  samples.push(row)
  return row
}

let port
try {
  port = await waitReady()
} catch (err) {
  console.error(err.message)
  process.exit(1)
}
// Times are counted from here, when the load starts.
t0 = Date.now()
track()
for (const w of workers.values()) w.bornS = 0
console.error(`soak: ugn master ${master.pid} on port ${port}, workers ${liveWorkers().map((w) => w.pid).join(', ')}; ${MINUTES} min`)

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: LOOPS.keepAliveGet })
const uploadAgent = new http.Agent({ keepAlive: true, maxSockets: LOOPS.upload })
const loops = [
  ...Array.from({ length: LOOPS.keepAliveGet }, () => loop('keepAliveGet', port, keepAlive)),
  ...Array.from({ length: LOOPS.upload }, () => loop('upload', port, uploadAgent)),
  ...Array.from({ length: LOOPS.newConnection }, () => loop('newConnection', port, false)),
]

sample()
const sampler = setInterval(sample, SAMPLE_S * 1000)
let turn = 0
const disturber = setInterval(() => {
  const live = liveWorkers()
  if (turn++ % 2 === 0) {
    // kill -9 one worker (the oldest alive); the master should start another.
    const victim = live[0]
    if (!victim) return
    try {
      process.kill(victim.pid, 'SIGKILL')
    } catch {}
    victim.diedS = nowS()
    victim.end = 'SIGKILL'
    generation++
    nextBirth = `replaces ${victim.pid} (killed)`
    events.push({ type: 'SIGKILL worker', at: Date.now(), t: Math.round(nowS()), pid: victim.pid, failures: 0, slow: 0, maxMs: 0 })
    console.error(`[${Math.round(nowS())} s] SIGKILL worker ${victim.pid}`)
  } else {
    generation++
    nextBirth = 'after HUP'
    for (const w of live) w.end = 'retired by HUP'
    process.kill(master.pid, 'SIGHUP')
    events.push({ type: 'HUP master', at: Date.now(), t: Math.round(nowS()), failures: 0, slow: 0, maxMs: 0 })
    console.error(`[${Math.round(nowS())} s] HUP master`)
  }
}, EVERY_S * 1000)
const progress = setInterval(() => {
  const row = samples.at(-1)
  console.error(
    `[${Math.round(nowS())} s] ${stats.sent} sent, ${stats.failed} failed; RSS master ${mib(row?.master)} MiB, workers ${Object.entries(row?.workers ?? {})
      .map(([pid, kib]) => `${pid}:${mib(kib)}`)
      .join(' ')} MiB`,
  )
}, 30_000)

// Notice workers started and gone (killed, retired after a HUP) every 250 ms.
const reaper = setInterval(track, 250)

await sleep(DURATION_MS)
running = false
clearInterval(disturber)
clearInterval(progress)
sample()
clearInterval(sampler)
await Promise.race([Promise.all(loops), sleep(REQUEST_TIMEOUT_MS + 1000)])
clearInterval(reaper)
keepAlive.destroy()
uploadAgent.destroy()
const elapsedS = nowS()

process.kill(master.pid, 'SIGTERM')
const stopped = await Promise.race([new Promise((r) => master.once('exit', () => r(true))), sleep(35_000).then(() => false)])
if (!stopped) killMaster()

// ---------------------------------------------------------------------------------------------
// Report

const allPids = [...workers.keys()]
const gens = [...workers.values()]
const out = []
const say = (s = '') => out.push(s)
say(`# ugn soak: ${MINUTES} min, 2 workers, examples/hello:app, ${new Date(t0).toISOString()}`)
say()
say(`Load: ${LOOPS.keepAliveGet} keep-alive GET loops, ${LOOPS.upload} keep-alive POST loops (64 KiB body), ${LOOPS.newConnection} new-connection GET loops; every ${EVERY_S} s alternately SIGKILL one worker / HUP the master.`)
say()
say(`Requests: ${stats.sent} sent, ${stats.ok} ok, ${stats.failed} failed (${((stats.sent / elapsedS) | 0)} per second).`)
say()
say('| kind | sent | ok | failed |')
say('|---|--:|--:|--:|')
for (const [kind, k] of Object.entries(stats.byKind)) say(`| ${kind} | ${k.sent} | ${k.ok} | ${k.failed} |`)
say()
if (stats.failed) {
  say('| failure | count | within 2 s after |')
  say('|---|--:|---|')
  for (const [key, f] of Object.entries(stats.failures).sort((a, b) => b[1].count - a[1].count)) {
    say(`| ${key} | ${f.count} | ${Object.entries(f.after).map(([e, n]) => `${e}: ${n}`).join(', ')} |`)
  }
  say()
}
say(`Slowest request: ${stats.maxMs} ms; ${stats.slow} took over ${SLOW_MS} ms.`)
say()
say(`| event | at (s) | failures within 2 s | slowest request ending within 2 s (ms) | over ${SLOW_MS} ms |`)
say('|---|--:|--:|--:|--:|')
for (const e of events) say(`| ${e.type}${e.pid ? ` ${e.pid}` : ''} | ${e.t} | ${e.failures} | ${e.maxMs} | ${e.slow} |`)
say()
say('RSS over time (MiB; workers alive at the sample, by pid):')
say()
say('| t (s) | master | workers |')
say('|--:|--:|---|')
for (const row of samples) {
  say(`| ${row.t} | ${mib(row.master)} | ${Object.entries(row.workers).map(([pid, kib]) => `${pid}: ${mib(kib)}`).join(', ')} |`)
}
say()
say('Worker generations (from spawn, as seen in /proc every 250 ms; largest RSS sampled while alive):')
say()
say('| pid | generation | born (s) | gone (s) | how it started | how it ended | max RSS (MiB) |')
say('|--:|--:|--:|--:|---|---|--:|')
for (const w of gens) {
  say(`| ${w.pid} | ${w.generation} | ${w.bornS.toFixed(0)} | ${w.diedS == null ? '-' : w.diedS.toFixed(0)} | ${w.how} | ${w.end ?? (w.diedS == null ? 'alive at the end' : 'exited')} | ${mib(w.maxRssKiB)} |`)
}
const masterRss = samples.map((r) => r.master).filter((x) => x != null)
say()
say(`Master RSS: ${mib(masterRss[0])} MiB at the start, ${mib(Math.max(...masterRss))} MiB at most, ${mib(masterRss.at(-1))} MiB at the end.`)
say(`Master stopped by SIGTERM: ${stopped ? `yes (${JSON.stringify(masterExit)})` : 'no, killed'}; ${allPids.length} workers booted in all.`)
console.log(out.join('\n'))

const date = new Date(t0).toISOString().replace(/[:.]/g, '-')
const file = flags.out ?? path.join(BENCH, 'results', `soak-${date}.json`)
mkdirSync(path.dirname(file), { recursive: true })
writeFileSync(
  file,
  JSON.stringify(
    {
      started: new Date(t0).toISOString(),
      minutes: MINUTES,
      everyS: EVERY_S,
      sampleS: SAMPLE_S,
      loops: LOOPS,
      node: process.version,
      cli: CLI,
      elapsedS,
      requests: { sent: stats.sent, ok: stats.ok, failed: stats.failed, maxMs: stats.maxMs, slowOver1s: stats.slow, byKind: stats.byKind, failures: stats.failures },
      events: events.map(({ at, ...e }) => e),
      samples,
      workers: gens,
      master: { pid: master.pid, exit: masterExit ?? null, stoppedByTerm: stopped },
    },
    null,
    2,
  ),
)
console.error(`soak: wrote ${path.relative(process.cwd(), file)}`)
process.exit(0)
