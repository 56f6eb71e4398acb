#!/usr/bin/env node
// How evenly ugn's workers share new connections: in the default mode (every worker accepts from
// the shared listening socket, registered with EPOLLEXCLUSIVE) and with --reuse-port (one
// SO_REUSEPORT socket per worker, the kernel hashes each connection to one of them). An app that
// answers with its pid gets sequential new connections, then a burst of concurrent ones, and the
// answers are counted per worker.
//
//   node bench/balance.mjs [--workers 2] [--sequential 2000] [--burst 200] [--runs 1] [--modes shared,reuse-port]
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { killAllNow, startChild, stopAll, stopChild } from './lib/proc.mjs'

const REPO = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const CLI = process.env.UGN_CLI || path.join(REPO, 'dist/cli.js')
const MODES = { shared: [], 'reuse-port': ['--reuse-port'] }
const READY_TIMEOUT_MS = 20_000
const REQUEST_TIMEOUT_MS = 10_000

const { values: flags } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    sequential: { type: 'string', default: '2000' },
    burst: { type: 'string', default: '200' },
    runs: { type: 'string', default: '1' },
    modes: { type: 'string', default: Object.keys(MODES).join(',') },
  },
})

/** One GET on a new connection; resolves to the pid that answered, or the error code. */
function pidOnce(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve(res.statusCode === 200 ? body : `HTTP ${res.statusCode}`))
    })
    req.on('error', (err) => resolve(err.code ?? err.message))
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')))
  })
}

async function startUgn(mode, workers) {
  const args = [CLI, 'bench/apps/pid.mjs', '--workers', String(workers), '--bind', '127.0.0.1:0', ...MODES[mode]]
  const rec = startChild(process.execPath, args, { cwd: REPO, label: `ugn ${mode}` })
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const log = rec.stderrTail.join('\n')
    const port = /Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]
    const booted = log.match(/Booting worker/g)?.length ?? 0
    if (port && booted >= workers && /^\d+$/.test(await pidOnce(port))) return { rec, port: Number(port) }
    if (rec.exited || Date.now() > deadline) throw new Error(`ugn (${mode}) did not start:\n${log}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Answers per pid (and per error), largest first. */
function tally(answers) {
  const counts = new Map()
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1])
}

const show = (counts) => counts.map(([who, n]) => `${n.toLocaleString('en')} (${/^\d+$/.test(who) ? `pid ${who}` : who})`).join(' / ')

const workers = Number(flags.workers)
const sequential = Number(flags.sequential)
const burst = Number(flags.burst)
process.on('exit', killAllNow)
console.log(`${workers} workers; ${sequential} sequential new connections, then a burst of ${burst} concurrent ones`)
try {
  for (let run = 1; run <= Number(flags.runs); run++) {
    for (const mode of flags.modes.split(',')) {
      const { rec, port } = await startUgn(mode, workers)
      const serial = []
      for (let i = 0; i < sequential; i++) serial.push(await pidOnce(port))
      const concurrent = await Promise.all(Array.from({ length: burst }, () => pidOnce(port)))
      console.log(`run ${run}, ${mode.padEnd(10)}  sequential: ${show(tally(serial))}; burst: ${show(tally(concurrent))}`)
      await stopChild(rec)
    }
  }
} finally {
  await stopAll()
}
