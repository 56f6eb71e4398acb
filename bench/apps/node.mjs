// The scenarios' hello worlds as node:http (req, res) handlers, one export per scenario app.
// The node-http baselines (servers/node-http.mjs, node-cluster.mjs) and `ugn bench/apps/node:NAME`
// (the node adapter) run this same code. They send exactly: status line, Content-Type,
// Content-Length, Date. Node's automatic `Connection: keep-alive` / `Keep-Alive: timeout=5` are
// removed (keep-alive still works) so the bytes on the wire match ugn's; when the client asks
// for `Connection: close`, Node's `Connection: close` stays. No X-Powered-By, no access log.
const HELLO = Buffer.from('Hello, World!')
const HELLO_HEADERS = { 'Content-Type': 'text/plain', 'Content-Length': HELLO.length }
const BLOB = Buffer.alloc(65536, 'x')

export function plaintext(req, res) {
  if (res.shouldKeepAlive) res.removeHeader('Connection')
  res.writeHead(200, HELLO_HEADERS)
  res.end(HELLO)
}

export function json(req, res) {
  const body = JSON.stringify({ message: 'Hello, World!' })
  if (res.shouldKeepAlive) res.removeHeader('Connection')
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

export function bytes64k(req, res) {
  if (res.shouldKeepAlive) res.removeHeader('Connection')
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BLOB.length })
  res.end(BLOB)
}

export function upload(req, res) {
  let n = 0
  req.on('data', (chunk) => (n += chunk.length))
  req.on('end', () => {
    const body = String(n)
    if (res.shouldKeepAlive) res.removeHeader('Connection')
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length })
    res.end(body)
  })
}
