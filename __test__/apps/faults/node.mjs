// Faults of a Node (req, res) handler, one per path (__test__/app-faults.spec.mjs).
import { Readable, pipeline } from 'node:stream'

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function failingReadable(message) {
  const body = new Readable({ read() {} })
  body.push('partial;')
  setTimeout(() => body.destroy(new Error(message)), 100)
  return body
}

export function app(req, res) {
  const url = new URL(req.url, 'http://x')
  switch (url.pathname) {
    case '/pid':
      res.end(String(process.pid))
      return
    case '/throw':
      throw new Error('reason: thrown at once')
    case '/reject':
      return pause(10).then(() => {
        throw new Error('reason: rejected later')
      })
    case '/hang':
      res.on('close', () => console.error(`hang released ${url.search.slice(1)}`))
      return
    case '/write-after-end':
      res.end('done')
      setTimeout(() => res.write('too late'), 20)
      return
    case '/reject-midway':
      res.setHeader('Content-Type', 'text/plain')
      res.write('partial;')
      return pause(100).then(() => {
        throw new Error('reason: rejected midway')
      })
    case '/stream-error':
      res.setHeader('Content-Type', 'text/plain')
      pipeline(failingReadable('reason: piped stream failed midway'), res, () => {})
      return
    case '/stream-error-length':
      res.setHeader('Content-Type', 'text/plain')
      res.setHeader('Content-Length', '100')
      pipeline(failingReadable('reason: piped stream failed midway'), res, () => {})
      return
    case '/stream-error-at-once': {
      const source = new Readable({ read() {} })
      setTimeout(() => source.destroy(new Error('reason: piped stream failed before its first chunk')), 10)
      pipeline(source, res, () => {})
      return
    }
    case '/destroy-at-once':
      res.destroy(new Error('reason: destroyed before the first byte'))
      return
    case '/socket-destroy':
      res.setHeader('Content-Type', 'text/plain')
      res.write('partial;')
      setTimeout(() => res.socket.destroy(new Error('reason: socket destroyed midway')), 100)
      return
    case '/pipe-unhandled':
      // pipe() leaves the source's 'error' to the app: unheard, it is an uncaught exception.
      res.setHeader('Content-Type', 'text/plain')
      failingReadable('reason: an error event nobody listens to').pipe(res)
      return
    case '/crlf-status':
      res.writeHead(200, 'OK\r\nSet-Cookie: evil=1')
      res.end('never sent')
      return
    case '/crlf-status-message':
      res.statusMessage = 'OK\r\nSet-Cookie: evil=1'
      res.end('never sent')
      return
    case '/start-twice':
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.writeHead(500)
      res.end('never sent')
      return
    case '/crlf':
      res.setHeader('X-Injected', 'value\r\nSet-Cookie: evil=1')
      res.end('never sent')
      return
    default:
      res.statusCode = 404
      res.end('not found')
  }
}
