// The native interface over HTTP/2 (__test__/http2.spec.mjs), routed by path:
//   /info          what the app sees of the request (method, path, query, protocol, host, ...)
//   /echo          the request body back (read whole), with Content-Length
//   /download?n=N  N bytes (default 1 MiB) of a known pattern, with Content-Length
//   /stream?kib=N  N KiB (default 256) streamed in 16 KiB chunks, then an X-Checksum trailer
//   /cookies       the Cookie field as the app sees it, and two Set-Cookie fields
//   /hints         a 103 Early Hints with a Link field, then 'page'
//   /hop           sets Connection, Keep-Alive and Transfer-Encoding (HTTP/2 must drop them)
//   /slow?ms=N     answers after N ms; counts the requests in flight and answers the most seen
//   /slow?ms=N&until=K  answers once K requests have been in flight at once (or after N ms)
//   /upload-watch?id=X  reads the body; logs "upload-watch X started", "... receiving" at its
//                  first chunk, "... error: ..." if the body fails and "... closed completed=..."
//                  when the server is done with the request
export const pattern = (n) => {
  const buf = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) buf[i] = (i * 31 + 7) & 0xff
  return buf
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const json = (startResponse, value) => {
  startResponse('200 OK', [['Content-Type', 'application/json']])
  return JSON.stringify(value)
}

let inFlight = 0
let mostInFlight = 0
/** Requests of /slow?until=K waiting for K at once, woken at each arrival. */
const gated = new Set()

export async function app(environ, startResponse) {
  const query = new URLSearchParams(environ.QUERY_STRING)
  switch (environ.PATH_INFO) {
    case '/info': {
      const body = await environ['ugn.input'].text()
      return json(startResponse, {
        method: environ.REQUEST_METHOD,
        path: environ.PATH_INFO,
        query: environ.QUERY_STRING,
        rawUri: environ.RAW_URI,
        protocol: environ.SERVER_PROTOCOL,
        host: environ.HTTP_HOST ?? null,
        test: environ.HTTP_X_TEST ?? null,
        cookie: environ.HTTP_COOKIE ?? null,
        scheme: environ['ugn.url_scheme'],
        tls: environ['ugn.tls'],
        remote: environ.REMOTE_ADDR,
        body,
      })
    }
    case '/echo': {
      const body = await environ['ugn.input'].buffer()
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']])
      return body
    }
    case '/download':
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']])
      return pattern(Number(query.get('n') ?? 1 << 20))
    case '/stream': {
      startResponse('200 OK', [
        ['Content-Type', 'application/octet-stream'],
        ['Trailer', 'X-Checksum'],
      ])
      const whole = pattern(Number(query.get('kib') ?? 256) * 1024)
      const body = (async function* () {
        for (let i = 0; i < whole.length; i += 16 * 1024) {
          yield whole.subarray(i, i + 16 * 1024)
          if (i % (64 * 1024) === 0) await delay(1)
        }
      })()
      body.trailers = [['X-Checksum', `sum-${whole.reduce((a, b) => (a + b) % 65521, 0)}`]]
      return body
    }
    case '/cookies':
      startResponse('200 OK', [
        ['Content-Type', 'text/plain'],
        ['Set-Cookie', 'a=1; Path=/'],
        ['Set-Cookie', 'b=2; HttpOnly'],
      ])
      return environ.HTTP_COOKIE ?? ''
    case '/hints':
      environ['ugn.early_hints']([['Link', '</a.css>; rel=preload; as=style']])
      startResponse('200 OK', [['Content-Type', 'text/plain']])
      return 'page'
    case '/hop':
      startResponse('200 OK', [
        ['Content-Type', 'text/plain'],
        ['Connection', 'keep-alive'],
        ['Keep-Alive', 'timeout=5'],
        ['Transfer-Encoding', 'chunked'],
        ['X-Kept', 'yes'],
      ])
      return (function* () {
        yield 'hop '
        yield 'by hop'
      })()
    case '/slow': {
      inFlight++
      mostInFlight = Math.max(mostInFlight, inFlight)
      console.error(`slow request started ${query.get('id') ?? ''}`)
      for (const wake of gated) wake()
      const until = Number(query.get('until') ?? Infinity)
      try {
        await new Promise((resolve) => {
          const done = () => {
            clearTimeout(timer)
            gated.delete(check)
            resolve()
          }
          const check = () => mostInFlight >= until && done()
          const timer = setTimeout(done, Number(query.get('ms') ?? 1000))
          gated.add(check)
          check()
        })
      } finally {
        inFlight--
      }
      return json(startResponse, { id: query.get('id'), mostInFlight })
    }
    case '/upload-watch': {
      const id = query.get('id')
      console.error(`upload-watch ${id} started`)
      environ['ugn.on_close']((completed) => console.error(`upload-watch ${id} closed completed=${completed}`))
      let bytes = 0
      try {
        for await (const chunk of environ['ugn.input']) {
          if (bytes === 0) console.error(`upload-watch ${id} receiving`)
          bytes += chunk.length
        }
      } catch (err) {
        console.error(`upload-watch ${id} error: ${err.message}`)
        startResponse('500 Internal Server Error', [['Content-Type', 'text/plain']])
        return 'the body failed'
      }
      return json(startResponse, { bytes })
    }
    default:
      startResponse('200 OK', [['Content-Type', 'text/plain']])
      return 'hello'
  }
}
