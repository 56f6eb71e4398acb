// The node interface, a (req, res) handler, over HTTP/2 (__test__/http2.spec.mjs), routed by
// path: /info, /echo (piped back), /download?n=N, /trailers (res.addTrailers on a streamed
// body), /hints (res.writeEarlyHints), /hop (connection-specific headers HTTP/2 must drop).
import { pattern } from './http2-native.mjs'

export default function handler(req, res) {
  const url = new URL(req.url, 'http://x')
  switch (url.pathname) {
    case '/info': {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/json')
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            httpVersion: req.httpVersion,
            host: req.headers.host ?? null,
            test: req.headers['x-test'] ?? null,
            body,
          }),
        )
      })
      return
    }
    case '/echo':
      res.setHeader('Content-Type', 'application/octet-stream')
      req.pipe(res)
      return
    case '/download':
      res.setHeader('Content-Type', 'application/octet-stream')
      res.end(pattern(Number(url.searchParams.get('n') ?? 1 << 20)))
      return
    case '/trailers':
      res.setHeader('Trailer', 'X-Checksum')
      res.write('part one;')
      setTimeout(() => {
        res.addTrailers({ 'X-Checksum': 'sum-42' })
        res.end('part two')
      }, 5)
      return
    case '/hints':
      res.writeEarlyHints({ link: '</a.css>; rel=preload; as=style' }, () => {
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        res.end('page')
      })
      return
    case '/hop':
      res.setHeader('Connection', 'keep-alive')
      res.setHeader('Keep-Alive', 'timeout=5')
      res.setHeader('X-Kept', 'yes')
      res.end('hop by hop')
      return
    default:
      res.end('hello')
  }
}
