// Baseline: a plain node:http server, one process.
// Env: HOST (127.0.0.1), PORT (required), SCENARIO (plaintext).
import http from 'node:http'
import { handlerFor } from './handlers.mjs'

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be set')

const server = http.createServer(handlerFor(process.env.SCENARIO || 'plaintext'))
server.listen({ host, port, backlog: 4096 }, () => {
  process.stderr.write(`node-http: listening on http://${host}:${port} (${process.pid})\n`)
})
const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
