// A plain Node (req, res) handler exercising what frameworks rely on.
import { appendFileSync } from 'node:fs'

/** Responses waiting for /release. */
const held = []

export function app(req, res) {
  const url = new URL(req.url, 'http://x')
  const file = url.searchParams.get('file')
  const note = (line) => file && appendFileSync(file, `${line}\n`)
  switch (url.pathname) {
    case '/inspect':
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          httpVersion: req.httpVersion,
          remoteAddress: req.socket.remoteAddress,
          remotePort: typeof req.socket.remotePort,
          header: req.headers['x-test'],
          rawHeadersPaired: req.rawHeaders.length === 2 * Object.keys(req.headers).length,
        }),
      )
      return
    case '/events':
      res.on('finish', () => note('finish'))
      res.on('close', () => note(`close ${res.writableEnded}`))
      req.on('close', () => note('req close'))
      res.end('ok')
      return
    case '/write-head-array':
      res.writeHead(201, 'Made', ['x-a', '1', 'set-cookie', 'c=1', 'set-cookie', 'd=2'])
      res.end()
      return
    case '/flush':
      res.setHeader('content-type', 'text/event-stream')
      res.flushHeaders()
      // The body waits for /release, so the head provably left before it.
      held.push(() => res.end('data: late\n\n'))
      return
    case '/release':
      for (const release of held.splice(0)) release()
      res.end('released')
      return
    case '/drain': {
      let drains = 0
      let falses = 0
      const chunk = Buffer.alloc(64 * 1024, 'x')
      let sent = 0
      const pump = () => {
        while (sent < 400) {
          sent++
          if (!res.write(chunk)) {
            falses++
            if (falses === 1) note('write returned false')
            res.once('drain', () => {
              drains++
              pump()
            })
            return
          }
        }
        res.end(() => note(`sent ${sent} falses ${falses} drains ${drains}`))
      }
      pump()
      return
    }
    case '/upload-abort':
      note('started')
      req.on('aborted', () => note('aborted'))
      req.on('close', () => note('req close'))
      res.on('close', () => note(`res close finished=${res.writableFinished}`))
      req.on('data', () => {})
      return
    case '/continue': {
      const chunks = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', () => res.end(`got ${Buffer.concat(chunks).length}`))
      return
    }
    case '/trailers-out':
      res.setHeader('Trailer', 'X-Sum')
      res.addTrailers({ 'X-Sum': '42' })
      res.end('abc')
      return
    case '/trailers-in': {
      let bytes = 0
      req.on('data', (c) => (bytes += c.length))
      req.on('end', () => res.end(JSON.stringify({ bytes, trailers: req.trailers, rawTrailers: req.rawTrailers })))
      return
    }
    case '/reject':
      return Promise.reject(new Error('rejected on purpose'))
    case '/bad-status':
      res.statusCode = 42
      res.end('x')
      return
    default:
      res.statusCode = 404
      res.end('not found')
  }
}
