// Baseline for --mode full: node:http behind node:cluster.
// Env: HOST, PORT (required), SCENARIO, WORKERS (default 2).
import cluster from 'node:cluster'
import http from 'node:http'
import { runPrimary } from './cluster.mjs'
import { handlerFor } from './handlers.mjs'

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be set')

if (cluster.isPrimary) {
  runPrimary('node-cluster', Number(process.env.WORKERS || 2))
} else {
  const server = http.createServer(handlerFor(process.env.SCENARIO || 'plaintext'))
  server.listen({ host, port, backlog: 4096 })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}
