#!/usr/bin/env node
// WebSocket echo per core: ugn (the ws library on an exported http.Server, --workers 1),
// ws on node:http (1 process), and uWebSockets.js when bench/node_modules has it, each pinned
// to core 0. A client process on core 1 keeps --connections WebSockets each with one message
// in flight (send, wait for the echo, send again) for --seconds, and counts echoes; the server
// processes' CPU time gives the cost per echo. uWebSockets.js is loaded as bench/run.mjs loads
// it (lib/uws-compat.mjs: a patched copy where its binary needs a newer glibc). The servers alternate for --rounds rounds;
// medians and ratios to ws on node:http are printed.
//
//   node bench/websocket.mjs [--connections 50] [--seconds 5] [--rounds 3] [--size 64]

import { spawn } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { cpuDelta, treeCpu } from './lib/proc.mjs'
import { uwsSetup } from './lib/uws-compat.mjs'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.dirname(BENCH)
const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    size: { type: 'string', default: '64' },
  },
})

const ECHO_APP = `
import http from 'node:http'
import { WebSocketServer } from 'ws'
export const server = http.createServer((req, res) => res.end('ok'))
new WebSocketServer({ server, perMessageDeflate: false }).on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })))
if (process.env.LISTEN_PORT) server.listen(Number(process.env.LISTEN_PORT), '127.0.0.1')
`
const UWS_APP = `
import { createRequire } from 'node:module'
const uws = createRequire(import.meta.url)(process.env.UWS_ADDON)
uws.App().ws('/*', { compression: 0, message: (ws, message, isBinary) => ws.send(message, isBinary) }).listen('127.0.0.1', Number(process.env.LISTEN_PORT), () => {})
`

const dir = path.join(os.tmpdir(), `ugn-bench-ws-${process.pid}`)
const appFile = path.join(dir, 'echo.mjs')
/** Generated files import ws by its path in the repository's node_modules. */
const WS = JSON.stringify(import.meta.resolve('ws'))

const uws = uwsSetup(BENCH)
if (uws.skip) console.log(`uWebSockets.js skipped: ${uws.skip}`)

const SERVERS = {
  'ws on node:http': (port) => [process.execPath, [appFile], { LISTEN_PORT: String(port) }],
  'ugn (ws, node interface)': (port) => [process.execPath, [path.join(ROOT, 'dist/cli.js'), `${appFile}:server`, '--workers', '1', '--bind', `127.0.0.1:${port}`], {}],
  ...(uws.env ? { 'uWebSockets.js': (port) => [process.execPath, ['--input-type=module', '-e', UWS_APP], { ...uws.env, LISTEN_PORT: String(port) }] } : {}),
}

const CLIENT = `
import WebSocket from 'ws'
const [url, connections, seconds, size] = process.argv.slice(2)
const payload = Buffer.alloc(Number(size), 'x')
let echoes = 0
let running = true
const sockets = await Promise.all(Array.from({ length: Number(connections) }, () => new Promise((resolve, reject) => {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  ws.once('open', () => resolve(ws))
  ws.once('error', reject)
})))
for (const ws of sockets) {
  ws.on('message', () => {
    echoes++
    if (running) ws.send(payload)
  })
  ws.send(payload)
}
setTimeout(() => {
  running = false
  console.log(JSON.stringify({ echoes, perSecond: echoes / Number(seconds) }))
  process.exit(0)
}, Number(seconds) * 1000)
`

function run(cmd, args, env, cpu) {
  return spawn('taskset', ['-c', cpu, cmd, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore'] })
}

async function measure(name, port) {
  const [cmd, args, env] = SERVERS[name](port)
  const server = run(cmd, args, env, '0')
  server.stdout.resume()
  try {
    const clientFile = path.join(dir, 'client.mjs')
    const url = `ws://127.0.0.1:${port}/`
    for (let i = 0; ; i++) {
      await sleep(200)
      const probe = run(process.execPath, [clientFile, url, '1', '0.2', '8'], {}, '1')
      const code = await new Promise((resolve) => probe.on('exit', resolve))
      if (code === 0) break
      if (i === 50) throw new Error(`${name} did not accept WebSockets on port ${port}`)
    }
    const before = treeCpu(server.pid)
    const client = run(process.execPath, [clientFile, url, values.connections, values.seconds, values.size], {}, '1')
    let out = ''
    client.stdout.on('data', (d) => (out += d))
    await new Promise((resolve) => client.on('exit', resolve))
    const { echoes, perSecond } = JSON.parse(out)
    const cpu = cpuDelta(before, treeCpu(server.pid)).seconds
    return { perSecond, cpuPerEcho: (cpu * 1e6) / echoes }
  } finally {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM')
      await new Promise((resolve) => server.on('exit', resolve))
    }
  }
}

mkdirSync(dir, { recursive: true })
writeFileSync(appFile, ECHO_APP.replace("from 'ws'", `from ${WS}`))
writeFileSync(path.join(dir, 'client.mjs'), CLIENT.replace("from 'ws'", `from ${WS}`))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rates = Object.fromEntries(Object.keys(SERVERS).map((s) => [s, []]))
const costs = Object.fromEntries(Object.keys(SERVERS).map((s) => [s, []]))
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [i, name] of Object.keys(SERVERS).entries()) {
      const { perSecond, cpuPerEcho } = await measure(name, 8190 + i)
      rates[name].push(perSecond)
      costs[name].push(cpuPerEcho)
      console.log(JSON.stringify({ round, server: name, echoesPerSecond: Math.round(perSecond), serverCpuPerEchoUs: +cpuPerEcho.toFixed(2) }))
    }
  }
  const base = median(rates['ws on node:http'])
  console.log(`| server | echoes/s (median of ${values.rounds}) | ratio to ws on node:http | server µs CPU per echo (median) |`)
  console.log('|---|--:|--:|--:|')
  for (const [name, xs] of Object.entries(rates)) {
    console.log(`| ${name} | ${Math.round(median(xs))} | ${(median(xs) / base).toFixed(2)}x | ${median(costs[name]).toFixed(2)} |`)
  }
  console.log(`${values.connections} connections, one ${values.size}-byte message in flight each, ${values.seconds} s per run; server on core 0, client on core 1`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
