// Every kind of response body, chosen by path. /slow?ms=N answers after N ms (and logs
// "slow request started" first, so tests know it is in flight).
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const text = [['Content-Type', 'text/plain']]

export const FIXTURE = fileURLToPath(new URL('./fixture.txt', import.meta.url))

export function app(environ, startResponse) {
  const query = new URLSearchParams(environ.QUERY_STRING)
  switch (environ.PATH_INFO) {
    case '/':
    case '/string':
      startResponse('200 OK', text)
      return 'a string body'
    case '/buffer':
      startResponse('200 OK', text)
      return Buffer.from('a buffer body')
    case '/uint8':
      startResponse('200 OK', text)
      return new TextEncoder().encode('a uint8array body')
    case '/array':
      startResponse('200 OK', text)
      return ['an ', Buffer.from('array '), new TextEncoder().encode('body')]
    case '/null':
      startResponse('204 No Content', [])
      return null
    case '/empty':
      startResponse('200 OK', text)
      return undefined
    case '/object-headers':
      startResponse('200 OK', { 'Content-Type': 'text/plain', 'X-Number': 42 })
      return 'object headers'
    case '/set-cookies':
      startResponse('200 OK', [
        ['Content-Type', 'text/plain'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ])
      return 'cookies'
    case '/gen':
      startResponse('200 OK', text)
      return (function* () {
        yield 'gen-1;'
        yield ''
        yield Buffer.from('gen-2;')
        yield 'gen-3'
      })()
    case '/agen':
      startResponse('200 OK', text)
      return (async function* () {
        yield 'agen-1;'
        await delay(20)
        yield 'agen-2;'
        await delay(20)
        yield 'agen-3'
      })()
    case '/lazy-start':
      // startResponse called from inside the iteration, before the first chunk.
      return (function* () {
        startResponse('200 OK', text)
        yield 'lazy'
      })()
    case '/readable':
      startResponse('200 OK', text)
      return Readable.from(['readable-1;', 'readable-2'])
    case '/file':
      startResponse('200 OK', text)
      return new environ['ugn.file_wrapper'](FIXTURE)
    case '/promise':
      startResponse('200 OK', text)
      return Promise.resolve('a promised body')
    case '/async':
      return (async () => {
        await delay(30)
        startResponse('201 Created', text)
        return 'async handler'
      })()
    case '/write': {
      const write = startResponse('200 OK', text)
      write('written-1;')
      write('written-2;')
      return ['returned']
    }
    case '/big': {
      const n = Number(query.get('n') ?? 1000)
      startResponse('200 OK', text)
      return (function* () {
        for (let i = 0; i < n; i++) yield `line ${i}\n`
      })()
    }
    case '/slow': {
      const ms = Number(query.get('ms') ?? 1000)
      process.stderr.write(`slow request started in ${process.pid} (${ms} ms)\n`)
      return (async () => {
        await delay(ms)
        startResponse('200 OK', [...text, ['X-Pid', String(process.pid)]])
        return `slept ${ms}`
      })()
    }
    case '/closable': {
      // A body with close(): the server must call it once it is done (WSGI's rule).
      const tag = query.get('tag') ?? 'x'
      startResponse('200 OK', text)
      const chunks = ['one;', 'two']
      let i = 0
      return {
        [Symbol.iterator]() {
          return { next: () => (i < chunks.length ? { value: chunks[i++], done: false } : { value: undefined, done: true }) }
        },
        close() {
          process.stderr.write(`body closed ${tag}\n`)
        },
      }
    }
    case '/endless': {
      // Streams until the client goes away; logs when the generator is finalized.
      const tag = query.get('tag') ?? 'x'
      startResponse('200 OK', text)
      return (async function* () {
        try {
          for (let i = 0; ; i++) {
            yield `tick ${i}\n`
            await delay(20)
          }
        } finally {
          process.stderr.write(`endless stopped ${tag}\n`)
        }
      })()
    }
    case '/pid':
      startResponse('200 OK', text)
      return String(process.pid)
    default:
      startResponse('404 Not Found', text)
      return 'not found'
  }
}
