// Bun.serve serving apps/fetch.mjs, the same fetch handlers ugn-fetch serves. Run with bun.
// Env: see copies.mjs (HOST, PORT, SCENARIO, WORKERS: >1 runs that many bun processes, each
// Bun.serve with reusePort).
import * as apps from '../apps/fetch.mjs'
import { serverEnv, startCopies } from './copies.mjs'

const { host, port, scenario, workers, connectionClose } = serverEnv()

if (!startCopies(workers)) {
  const app = apps[scenario]
  if (!app) throw new Error(`no fetch app for ${scenario}`)
  // Bun closes after answering a `Connection: close` request; the header tells the client so.
  const fetch = connectionClose
    ? async (request) => {
        const response = await app.fetch(request)
        if (request.headers.get('connection') === 'close') response.headers.set('Connection', 'close')
        return response
      }
    : app.fetch
  const server = globalThis.Bun.serve({ hostname: host, port, reusePort: workers > 1, fetch })
  process.stderr.write(`bun: listening on http://${host}:${server.port} (${process.pid})\n`)
  const stop = () => {
    server.stop(true)
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
