// Baseline for --mode full: node:http behind node:cluster (default scheduling: round-robin in
// the primary on Linux). Env: HOST, PORT (required), SCENARIO, WORKERS (default 2).
import cluster from 'node:cluster'
import http from 'node:http'
import { handlerFor } from './handlers.mjs'

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be set')

if (cluster.isPrimary) {
  const n = Number(process.env.WORKERS || 2)
  let stopping = false
  for (let i = 0; i < n; i++) cluster.fork()
  cluster.on('online', (w) => process.stderr.write(`node-cluster: worker ${w.process.pid} online\n`))
  cluster.on('exit', (w, code, sig) => {
    if (!stopping) process.stderr.write(`node-cluster: worker ${w.process.pid} died (${sig || code})\n`)
    if (Object.keys(cluster.workers).length === 0 && stopping) process.exit(0)
  })
  const stop = () => {
    stopping = true
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM')
    setTimeout(() => process.exit(0), 3000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
} else {
  const server = http.createServer(handlerFor(process.env.SCENARIO || 'plaintext'))
  server.listen({ host, port, backlog: 4096 })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}
