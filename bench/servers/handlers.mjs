// Request handlers for the node:http baselines, one per scenario (see bench/scenarios.mjs).
// They send exactly: status line, Content-Type, Content-Length, Date. Node's automatic
// `Connection: keep-alive` / `Keep-Alive: timeout=5` are removed (keep-alive still works) so the
// bytes on the wire match ugn's. No X-Powered-By, no access log.

const HELLO = Buffer.from('Hello, World!')
const HELLO_HEADERS = { 'Content-Type': 'text/plain', 'Content-Length': HELLO.length }

export const handlers = {
  plaintext(req, res) {
    res.removeHeader('Connection')
    res.writeHead(200, HELLO_HEADERS)
    res.end(HELLO)
  },
}

export function handlerFor(name) {
  const h = handlers[name]
  if (!h) throw new Error(`no node handler for scenario ${JSON.stringify(name)}`)
  return h
}
