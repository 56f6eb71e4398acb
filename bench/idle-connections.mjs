#!/usr/bin/env node
// Memory per idle keep-alive connection: ugn --workers 1 and node:http (1 process), each given
// --connections clients that send one request and then stay open. The server's RSS is read
// before the clients connect and after they are all idle; the difference per connection is
// printed, median of --rounds rounds.
//
//   node bench/idle-connections.mjs [--connections 1000] [--rounds 3]   (after npm run build)

import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({ options: { connections: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } } })
const N = Number(values.connections)

const NODE_HTTP = `
import http from 'node:http'
const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '13' })
  res.end('Hello, World!')
})
server.maxConnections = Infinity
server.listen({ host: '127.0.0.1', port: Number(process.env.PORT), backlog: 4096 })
process.on('SIGTERM', () => process.exit(0))
`

const SERVERS = {
  'node:http': (port) => ({ args: ['--input-type=module', '-e', NODE_HTTP], env: { PORT: String(port) }, pid: (child) => child.pid }),
  ugn: (port) => ({
    args: [path.join(ROOT, 'dist/cli.js'), 'examples/hello:app', '--workers', '1', '--bind', `127.0.0.1:${port}`, '--keep-alive', '120', '--worker-connections', String(N + 100)],
    env: {},
    // The worker serves the connections: the first pid the master logs as booted.
    pid: (child, log) => Number(/Booting worker with pid: (\d+)/.exec(log())?.[1]),
  }),
}

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])

/** One request on a new connection, left open once the response is in. */
function idleClient(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    socket.once('data', () => resolve(socket))
    socket.once('error', reject)
    socket.setTimeout(10_000, () => reject(new Error('no response in 10 s')))
  })
}

async function measure(name, port) {
  const spec = SERVERS[name](port)
  let log = ''
  const child = spawn(process.execPath, spec.args, { cwd: ROOT, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr.on('data', (d) => (log += d))
  const sockets = []
  try {
    for (let i = 0; ; i++) {
      try {
        sockets.push(await idleClient(port))
        break
      } catch (err) {
        if (i === 100) throw err
        await sleep(100)
      }
    }
    const pid = spec.pid(child, () => log)
    await sleep(500)
    const before = rssKiB(pid)
    for (let i = 1; i < N; i += 100) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, N - i) }, () => idleClient(port)))))
    }
    await sleep(1000)
    const after = rssKiB(pid)
    return { before, after, perConnection: ((after - before) * 1024) / (N - 1) }
  } finally {
    for (const s of sockets) s.destroy()
    child.kill('SIGTERM')
    await new Promise((resolve) => child.on('exit', resolve))
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const per = Object.fromEntries(Object.keys(SERVERS).map((name) => [name, []]))
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [i, name] of Object.keys(SERVERS).entries()) {
    const result = await measure(name, 8180 + i)
    per[name].push(result.perConnection)
    console.log(JSON.stringify({ round, server: name, ...result }))
  }
}
console.log(`| server | RSS per idle keep-alive connection (median of ${values.rounds}, ${N} connections) |`)
console.log('|---|--:|')
for (const [name, xs] of Object.entries(per)) console.log(`| ${name} | ${(median(xs) / 1024).toFixed(1)} KiB |`)
