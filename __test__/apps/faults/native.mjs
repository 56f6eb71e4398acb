// Faults of a native app(environ, startResponse), one per path (__test__/app-faults.spec.mjs).
// Each failure's message carries a reason marker the test looks for in the error log.
import { Readable } from 'node:stream'

const text = [['Content-Type', 'text/plain']]
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export function app(environ, startResponse) {
  switch (environ.PATH_INFO) {
    case '/pid':
      startResponse('200 OK', text)
      return String(process.pid)
    case '/throw':
      throw new Error('reason: thrown at once')
    case '/reject':
      return pause(10).then(() => {
        throw new Error('reason: rejected later')
      })
    case '/hang':
      environ['ugn.on_close']((completed) => console.error(`hang released ${environ.QUERY_STRING} completed=${completed}`))
      return new Promise(() => {})
    case '/number':
      startResponse('200 OK', text)
      return 12345
    case '/object':
      startResponse('200 OK', text)
      return { not: 'iterable' }
    case '/write-after-end': {
      const write = startResponse('200 OK', text)
      setTimeout(() => write('too late'), 20)
      return 'done'
    }
    case '/stream-error':
      startResponse('200 OK', text)
      return (async function* () {
        yield 'partial;'
        await pause(100)
        throw new Error('reason: generator failed midway')
      })()
    case '/stream-error-length':
      startResponse('200 OK', [...text, ['Content-Length', '100']])
      return (async function* () {
        yield 'partial;'
        await pause(100)
        throw new Error('reason: generator failed midway')
      })()
    case '/readable-error': {
      startResponse('200 OK', text)
      const body = new Readable({ read() {} })
      body.push('partial;')
      setTimeout(() => body.destroy(new Error('reason: readable failed midway')), 100)
      return body
    }
    case '/status-number':
      startResponse(200, text)
      return 'never sent'
    case '/headers-string':
      startResponse('200 OK', 'Content-Type: text/plain')
      return 'never sent'
    case '/header-undefined':
      startResponse('200 OK', [...text, ['X-Missing', undefined]])
      return 'never sent'
    case '/start-twice':
      startResponse('200 OK', text)
      startResponse('200 OK', text)
      return 'never sent'
    case '/start-twice-streaming':
      startResponse('200 OK', text)
      return (async function* () {
        yield 'partial;'
        await pause(100)
        startResponse('500 Internal Server Error', text)
        yield 'never sent'
      })()
    case '/no-start':
      return 'a body without startResponse'
    case '/stream-error-at-once':
      startResponse('200 OK', text)
      return (async function* () {
        await pause(10)
        throw new Error('reason: generator failed before its first chunk')
      })()
    case '/crlf-status':
      startResponse('200 OK\r\nSet-Cookie: evil=1', text)
      return 'never sent'
    case '/crlf-trailer': {
      startResponse('200 OK', [...text, ['Trailer', 'X-Checksum']])
      const body = (async function* () {
        yield 'partial;'
        await pause(100)
      })()
      body.trailers = [['X-Checksum', 'abc\r\nSet-Cookie: evil=1']]
      return body
    }
    case '/crlf':
      startResponse('200 OK', [...text, ['X-Injected', 'value\r\nSet-Cookie: evil=1']])
      return 'never sent'
    case '/crlf-streaming':
      startResponse('200 OK', [...text, ['X-Injected', 'value\nSet-Cookie: evil=1']])
      return (function* () {
        yield 'never sent'
      })()
    default:
      startResponse('404 Not Found', text)
      return 'not found'
  }
}
