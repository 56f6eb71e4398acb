// uWebSockets.js (@btc-vision/uwebsockets.js) serving the scenarios' hello worlds.
// Env: see copies.mjs (HOST, PORT, SCENARIO, WORKERS: >1 runs that many processes, each its own
// App; uSockets listens with SO_REUSEPORT), and UWS_ADDON, the .node file to load
// (lib/uws-compat.mjs may point it at a patched copy).
import { createRequire } from 'node:module'
import { serverEnv, startCopies } from './copies.mjs'

const { host, port, scenario, workers, connectionClose } = serverEnv()

if (!startCopies(workers)) {
  const require = createRequire(import.meta.url)
  const uWS = process.env.UWS_ADDON ? require(process.env.UWS_ADDON) : require('@btc-vision/uwebsockets.js')
  const BLOB = Buffer.alloc(65536, 'x')
  const HANDLERS = {
    plaintext: (res) => res.cork(() => res.writeHeader('Content-Type', 'text/plain').end('Hello, World!')),
    json: (res) => res.cork(() => res.writeHeader('Content-Type', 'application/json').end(JSON.stringify({ message: 'Hello, World!' }))),
    bytes64k: (res) => res.cork(() => res.writeHeader('Content-Type', 'application/octet-stream').end(BLOB)),
    upload(res) {
      let n = 0
      let aborted = false
      res.onAborted(() => (aborted = true))
      res.onData((chunk, isLast) => {
        n += chunk.byteLength
        if (isLast && !aborted) res.cork(() => res.writeHeader('Content-Type', 'text/plain').end(String(n)))
      })
    },
  }
  const plain = HANDLERS[scenario]
  if (!plain) throw new Error(`no uWS handler for ${scenario}`)
  // uWS closes after answering a `Connection: close` request; the header tells the client so.
  const handler = connectionClose
    ? (res, req) => {
        if (req.getHeader('connection') === 'close') res.writeHeader('Connection', 'close')
        plain(res, req)
      }
    : plain
  let token = null
  uWS.App().any('/*', handler).listen(host, port, (t) => {
    token = t
    if (!t) {
      process.stderr.write(`uws: cannot listen on ${host}:${port}\n`)
      process.exit(1)
    }
    process.stderr.write(`uws: listening on http://${host}:${port} (${process.pid})\n`)
  })
  const stop = () => {
    if (token) uWS.us_listen_socket_close(token)
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
