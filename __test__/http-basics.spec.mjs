// Plain HTTP: GET, HEAD, POST, the headers every response carries, HTTP/1.0.
import test from 'ava'

import { appPath, get, killAll, parseResponse, rawExchange, rawRequest, startUgn } from './helpers/ugn.mjs'

let hello
let echo

test.before(async () => {
  ;[hello, echo] = await Promise.all([startUgn(appPath('hello.mjs')), startUgn(appPath('echo.mjs'))])
})

test.after.always(async () => {
  await Promise.allSettled([hello?.stop('SIGTERM'), echo?.stop('SIGTERM')])
  killAll()
})

test('the master logs startup in Gunicorn format', (t) => {
  const log = hello.log()
  const stamp = String.raw`\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\]`
  t.regex(log, new RegExp(`${stamp} \\[${hello.masterPid}\\] \\[INFO\\] Starting ugn 0\\.1\\.0`))
  t.regex(log, new RegExp(`${stamp} \\[${hello.masterPid}\\] \\[INFO\\] Listening at: http://127\\.0\\.0\\.1:${hello.port} \\(${hello.masterPid}\\)`))
  t.regex(log, new RegExp(`\\[${hello.masterPid}\\] \\[INFO\\] Using worker: async`))
  const [worker] = hello.workerPids()
  t.truthy(worker)
  t.not(worker, hello.masterPid)
  t.regex(log, new RegExp(`\\[${worker}\\] \\[INFO\\] Booting worker with pid: ${worker}`))
  t.not(hello.port, 0)
})

test('GET returns the body with Content-Length, Date and Server', async (t) => {
  const res = await get(`${hello.url}/`)
  t.is(res.status, 200)
  t.is(await res.text(), 'Hello, World!')
  t.is(res.headers.get('content-type'), 'text/plain')
  t.is(res.headers.get('content-length'), '13')
  t.is(res.headers.get('server'), 'ugn')
  const date = res.headers.get('date')
  t.regex(date, /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/)
  t.true(Math.abs(Date.parse(date) - Date.now()) < 60_000, `Date header ${date} is near now`)
  t.is(Number(res.headers.get('x-pid')), hello.workerPids()[0])
})

test('HEAD gets the headers of GET and no body', async (t) => {
  const raw = await rawRequest(hello.port, 'HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  const res = parseResponse(raw, { head: true })
  t.is(res.status, 200)
  t.is(res.headers.server, 'ugn')
  t.truthy(res.headers.date)
  t.is(res.headers['content-type'], 'text/plain')
  t.is(res.headers['transfer-encoding'], undefined)
  // Nothing follows the head up to the close: the body was not sent.
  t.true(raw.endsWith('\r\n\r\n'), `HEAD response has no body: ${JSON.stringify(raw)}`)
  const viaFetch = await get(`${hello.url}/`, { method: 'HEAD' })
  t.is(viaFetch.status, 200)
  t.is(await viaFetch.text(), '')
})

// RFC 9110 §9.3.2: a server SHOULD send the same header fields for HEAD as for GET; the body
// length is known here (the app returns a string), so Content-Length should be there.
test('HEAD carries the Content-Length that GET would have', async (t) => {
  const raw = await rawRequest(hello.port, 'HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  const res = parseResponse(raw, { head: true })
  t.is(res.status, 200)
  t.is(res.headers['content-length'], '13', `HEAD response head: ${JSON.stringify(raw)}`)
})

test('POST body reaches the app, with its headers', async (t) => {
  const res = await get(`${echo.url}/submit?x=1`, {
    method: 'POST',
    body: 'name=ugn&kind=server',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Custom': 'yes' },
  })
  t.is(res.status, 200)
  t.is(res.headers.get('content-type'), 'application/json')
  const body = await res.json()
  t.is(body.method, 'POST')
  t.is(body.path, '/submit')
  t.is(body.query, 'x=1')
  t.is(body.body, 'name=ugn&kind=server')
  t.is(body.headers.CONTENT_TYPE, 'application/x-www-form-urlencoded')
  t.is(body.headers.CONTENT_LENGTH, '20')
  t.is(body.headers.HTTP_X_CUSTOM, 'yes')
  t.is(body.protocol, 'HTTP/1.1')
})

test('a larger POST body (1 MiB) arrives whole', async (t) => {
  const payload = Buffer.alloc(1024 * 1024, 'abcdefghij')
  const res = await get(`${echo.url}/big`, { method: 'POST', body: payload })
  t.is(res.status, 200)
  const body = await res.json()
  t.is(body.bodyLength, payload.length)
  t.is(body.body, payload.toString('latin1'))
})

test('methods other than GET/POST reach the app', async (t) => {
  for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const res = await get(`${echo.url}/m`, { method, body: method === 'DELETE' || method === 'OPTIONS' ? undefined : 'x' })
    t.is(res.status, 200, method)
    t.is((await res.json()).method, method)
  }
})

test('HTTP/1.0 request: answered as HTTP/1.0-compatible and the connection is closed', async (t) => {
  const { data, closed } = await rawExchange(hello.port, 'GET / HTTP/1.0\r\n\r\n')
  const res = parseResponse(data)
  t.regex(res.version, /^HTTP\/1\.[01]$/)
  t.is(res.status, 200)
  t.is(res.body, 'Hello, World!')
  t.is(res.headers['content-length'], '13')
  t.true(closed, 'an HTTP/1.0 connection without keep-alive is closed after the response')
  t.not((res.headers.connection ?? '').toLowerCase(), 'keep-alive')
})

test('HTTP/1.0 request reaches the app with SERVER_PROTOCOL HTTP/1.0', async (t) => {
  const { data } = await rawExchange(echo.port, 'GET /old HTTP/1.0\r\nHost: x\r\n\r\n')
  const res = parseResponse(data)
  t.is(res.status, 200)
  t.is(JSON.parse(res.body).protocol, 'HTTP/1.0')
})

test('HTTP/1.1 with Connection: close gets Connection: close and a closed socket', async (t) => {
  const { data, closed } = await rawExchange(hello.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const res = parseResponse(data)
  t.is(res.status, 200)
  t.is(res.headers.connection?.toLowerCase(), 'close')
  t.true(closed)
})

test('many sequential fetches are all answered', async (t) => {
  for (let i = 0; i < 20; i++) {
    const res = await get(`${hello.url}/n/${i}`)
    t.is(await res.text(), 'Hello, World!')
  }
})
