// Message framing over raw sockets: keep-alive, pipelining, chunked request bodies,
// 100-continue, and how streamed responses are delimited.
import test from 'ava'

import { appPath, killAll, openSocket, parseResponse, parseResponses, PATIENCE_MS, rawExchange, rawRequest, startUgn } from './helpers/ugn.mjs'

let echo
let stream
/** --keep-alive of the stream server. */
const KEEP_ALIVE_S = 1
/** How soon after that the server must have closed an idle connection: its idle timer is checked
 * as the worker gets to it, and a busy machine may take seconds more, never many times the setting. */
const KEEP_ALIVE_LATEST_MS = 5 * KEEP_ALIVE_S * 1000 + 10_000

test.before(async () => {
  ;[echo, stream] = await Promise.all([startUgn(appPath('echo.mjs')), startUgn(appPath('stream.mjs'), ['--keep-alive', String(KEEP_ALIVE_S)])])
})

test.after.always(async () => {
  await Promise.allSettled([echo?.stop('SIGTERM'), stream?.stop('SIGTERM')])
  killAll()
})

const complete = (n) => (data) => {
  try {
    const { responses } = parseResponses(data)
    return responses.length >= n && responses.every((r) => r.complete)
  } catch {
    return false
  }
}

test('keep-alive: two requests on one HTTP/1.1 connection', async (t) => {
  const conn = await openSocket(echo.port)
  try {
    conn.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n')
    await conn.until(complete(1), PATIENCE_MS, 'first response')
    const first = parseResponse(conn.take())
    t.is(first.status, 200)
    t.is(first.headers.connection?.toLowerCase() ?? 'keep-alive', 'keep-alive')
    t.false(conn.closed(), 'the connection stays open after the first response')
    conn.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n')
    await conn.until(complete(1), PATIENCE_MS, 'second response')
    const second = parseResponse(conn.take())
    t.is(second.status, 200)
    t.is(JSON.parse(first.body).path, '/first')
    t.is(JSON.parse(second.body).path, '/second')
    t.is(JSON.parse(first.body).pid, JSON.parse(second.body).pid)
  } finally {
    conn.close()
  }
})

test('keep-alive: HTTP/1.0 with Connection: keep-alive keeps the connection', async (t) => {
  const conn = await openSocket(echo.port)
  try {
    conn.write('GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
    await conn.until(complete(1), PATIENCE_MS, 'first response')
    const first = parseResponse(conn.take())
    t.is(first.status, 200)
    t.is(first.headers.connection?.toLowerCase(), 'keep-alive')
    t.truthy(first.headers['content-length'])
    conn.write('GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
    await conn.until(complete(1), PATIENCE_MS, 'second response')
    t.is(JSON.parse(parseResponse(conn.take()).body).path, '/b')
  } finally {
    conn.close()
  }
})

test('keep-alive: an idle connection is closed after --keep-alive seconds', async (t) => {
  const conn = await openSocket(stream.port)
  try {
    const sentAt = Date.now()
    conn.write('GET /string HTTP/1.1\r\nHost: x\r\n\r\n')
    await conn.until(complete(1), PATIENCE_MS, 'response')
    t.is(parseResponse(conn.data()).status, 200)
    await conn.until((_, closed) => closed, KEEP_ALIVE_LATEST_MS, 'the server to close the idle connection')
    // The idle time starts after the response, which came after the request was sent.
    const closedMs = Date.now() - sentAt
    t.true(closedMs >= KEEP_ALIVE_S * 1000, `closed ${closedMs} ms after the request: not before --keep-alive ran out`)
    t.true(conn.closed())
  } finally {
    conn.close()
  }
})

test('--keep-alive 0 disables keep-alive: Connection: close and the socket is closed', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), ['--keep-alive', '0'])
  try {
    // Two requests in one write: a server that kept the connection would answer both.
    const { data, closed } = await rawExchange(ugn.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n')
    const { responses } = parseResponses(data)
    t.is(responses.length, 1, `only the first request is answered: ${JSON.stringify(data)}`)
    t.is(responses[0].status, 200)
    t.is(responses[0].headers.connection?.toLowerCase(), 'close', `response head: ${JSON.stringify(data)}`)
    t.true(closed, 'the server closed the connection after the response')
  } finally {
    await ugn.stop('SIGTERM')
  }
})

// Idle for 3.5 s, past the 2 s default; --keep-alive 30 leaves the second request 26 s to arrive,
// which a busy machine needs no more than a fraction of.
test('--keep-alive 30 keeps an idle connection open longer than the 2 s default', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), ['--keep-alive', '30'])
  const conn = await openSocket(ugn.port)
  try {
    conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await conn.until(complete(1), PATIENCE_MS, 'response')
    await new Promise((resolve) => setTimeout(resolve, 3500))
    t.false(conn.closed(), 'still open 3.5 s after the response with --keep-alive 30')
    conn.take()
    conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await conn.until(complete(1), PATIENCE_MS, 'second response')
    t.is(parseResponse(conn.data()).body, 'Hello, World!')
  } finally {
    conn.close()
    await ugn.stop('SIGTERM')
  }
})

test('-k sync: one request per connection (no keep-alive), and the log says so', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), ['-k', 'sync'])
  try {
    t.regex(ugn.log(), /Using worker: sync/)
    const { data, closed } = await rawExchange(ugn.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n')
    const { responses } = parseResponses(data)
    t.is(responses.length, 1, `only the first request is answered: ${JSON.stringify(data)}`)
    t.is(responses[0].status, 200)
    t.is(responses[0].headers.connection?.toLowerCase(), 'close')
    t.true(closed)
  } finally {
    await ugn.stop('SIGTERM')
  }
})

test('pipelining: 10 requests in one write are answered in order', async (t) => {
  let bytes = ''
  for (let i = 0; i < 10; i++) {
    if (i % 3 === 1) bytes += `POST /p${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${String(i).length + 5}\r\n\r\nbody-${i}`
    else bytes += `GET /p${i}?i=${i} HTTP/1.1\r\nHost: x\r\n\r\n`
  }
  const conn = await openSocket(echo.port)
  try {
    conn.write(bytes)
    await conn.until(complete(10), PATIENCE_MS, '10 responses')
    const { responses, rest } = parseResponses(conn.data())
    t.is(responses.length, 10)
    t.is(rest, '')
    responses.forEach((res, i) => {
      t.is(res.status, 200)
      const body = JSON.parse(res.body)
      t.is(body.path, `/p${i}`, `response ${i} is for request ${i}`)
      t.is(body.method, i % 3 === 1 ? 'POST' : 'GET')
      if (i % 3 === 1) t.is(body.body, `body-${i}`)
      else t.is(body.query, `i=${i}`)
    })
  } finally {
    conn.close()
  }
})

test('pipelining: requests split at odd byte boundaries still parse in order', async (t) => {
  const bytes = Array.from({ length: 5 }, (_, i) => `GET /s${i} HTTP/1.1\r\nHost: x\r\n${i === 4 ? 'Connection: close\r\n' : ''}\r\n`).join('')
  const chunks = []
  for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.slice(i, i + 7))
  const raw = await rawRequest(echo.port, '', { chunks, gapMs: 2 })
  const { responses } = parseResponses(raw)
  t.deepEqual(
    responses.map((r) => JSON.parse(r.body).path),
    ['/s0', '/s1', '/s2', '/s3', '/s4'],
  )
})

test('keep-alive: a request body the app never reads is skipped, the next request is served', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'))
  const conn = await openSocket(ugn.port)
  try {
    const body = 'x'.repeat(100_000)
    conn.write(`POST /ignored HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /next HTTP/1.1\r\nHost: x\r\n\r\n`)
    await conn.until(complete(2), PATIENCE_MS, 'two responses')
    const { responses } = parseResponses(conn.data())
    t.is(responses.length, 2)
    t.deepEqual(
      responses.map((r) => [r.status, r.body]),
      [
        [200, 'Hello, World!'],
        [200, 'Hello, World!'],
      ],
    )
  } finally {
    conn.close()
    await ugn.stop('SIGTERM')
  }
})

test('an unsupported Expect value gets 417', async (t) => {
  const { data, closed } = await rawExchange(echo.port, 'POST / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 2\r\n\r\nhi')
  t.is(parseResponse(data).status, 417)
  t.true(closed)
})

test('HEAD over HTTP/1.0 gets a head and a closed connection', async (t) => {
  const { data, closed } = await rawExchange(stream.port, 'HEAD /gen HTTP/1.0\r\n\r\n')
  const res = parseResponse(data, { head: true })
  t.is(res.status, 200)
  t.true(data.endsWith('\r\n\r\n'), `no body after the head: ${JSON.stringify(data)}`)
  t.true(closed)
})

test('chunked request body with chunk extensions and trailers', async (t) => {
  const conn = await openSocket(echo.port)
  try {
    conn.write(
      'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n' +
        '5;name=value\r\nhello\r\n' +
        '6;flag\r\n world\r\n' +
        'A\r\n0123456789\r\n' +
        '0\r\nX-Trailer: t1\r\nX-Other: t2\r\n\r\n',
    )
    await conn.until(complete(1), PATIENCE_MS, 'response')
    const res = parseResponse(conn.take())
    t.is(res.status, 200)
    const body = JSON.parse(res.body)
    t.is(body.body, 'hello world0123456789')
    t.is(body.bodyLength, 21)
    t.is(body.headers.HTTP_TRANSFER_ENCODING, 'chunked')
    // The connection is still usable after the trailers were consumed.
    conn.write('GET /after HTTP/1.1\r\nHost: x\r\n\r\n')
    await conn.until(complete(1), PATIENCE_MS, 'response after the chunked one')
    t.is(JSON.parse(parseResponse(conn.take()).body).path, '/after')
  } finally {
    conn.close()
  }
})

test('chunked request body sent in pieces over time', async (t) => {
  const raw = await rawRequest(echo.port, '', {
    chunks: [
      'POST /slowbody HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      '3\r\nabc\r\n',
      '3\r\ndef\r\n',
      '0\r\n\r\n',
    ],
    gapMs: 100,
  })
  const res = parseResponse(raw)
  t.is(res.status, 200)
  t.is(JSON.parse(res.body).body, 'abcdef')
})

test('Expect: 100-continue gets "100 Continue" before the body is sent', async (t) => {
  const conn = await openSocket(echo.port)
  try {
    conn.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n')
    const interim = await conn.until((d) => d.includes('\r\n\r\n'), PATIENCE_MS, 'the interim response')
    t.regex(interim, /^HTTP\/1\.1 100 Continue\r\n/)
    t.notRegex(interim, /HTTP\/1\.1 200/, 'no final response before the body')
    conn.take()
    conn.write('hello world')
    await conn.until(complete(1), PATIENCE_MS, 'the final response')
    const res = parseResponse(conn.take())
    t.is(res.status, 200)
    t.is(JSON.parse(res.body).body, 'hello world')
  } finally {
    conn.close()
  }
})

test('Expect: 100-continue with a chunked body', async (t) => {
  const conn = await openSocket(echo.port)
  try {
    conn.write('POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n')
    const interim = await conn.until((d) => d.includes('\r\n\r\n'), PATIENCE_MS, 'the interim response')
    t.regex(interim, /^HTTP\/1\.1 100 Continue\r\n/)
    conn.take()
    conn.write('4\r\nabcd\r\n0\r\n\r\n')
    await conn.until(complete(1), PATIENCE_MS, 'the final response')
    t.is(JSON.parse(parseResponse(conn.take()).body).body, 'abcd')
  } finally {
    conn.close()
  }
})

for (const [path, expected] of [
  ['/gen', 'gen-1;gen-2;gen-3'],
  ['/agen', 'agen-1;agen-2;agen-3'],
  ['/readable', 'readable-1;readable-2'],
]) {
  test(`streamed body ${path} over HTTP/1.1 is chunked`, async (t) => {
    const conn = await openSocket(stream.port)
    try {
      conn.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
      await conn.until(complete(1), PATIENCE_MS, 'response')
      const res = parseResponse(conn.data())
      t.is(res.status, 200)
      t.is(res.headers['transfer-encoding'], 'chunked')
      t.is(res.headers['content-length'], undefined)
      t.true(res.chunked)
      t.true(conn.data().endsWith('0\r\n\r\n'), 'the body ends with the last chunk')
      t.is(res.body, expected)
      t.false(conn.closed(), 'a chunked response keeps the connection open')
    } finally {
      conn.close()
    }
  })

  test(`streamed body ${path} over HTTP/1.0 is close-delimited`, async (t) => {
    const { data, closed } = await rawExchange(stream.port, `GET ${path} HTTP/1.0\r\n\r\n`)
    const res = parseResponse(data)
    t.is(res.status, 200)
    t.is(res.headers['transfer-encoding'], undefined)
    t.is(res.headers['content-length'], undefined)
    t.true(res.closeDelimited)
    t.is(res.body, expected)
    t.true(closed, 'the end of the body is marked by closing the connection')
  })
}

test('streamed body over HTTP/1.0 with keep-alive requested is still close-delimited', async (t) => {
  const { data, closed } = await rawExchange(stream.port, 'GET /gen HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
  const res = parseResponse(data)
  t.is(res.headers['transfer-encoding'], undefined)
  t.is(res.body, 'gen-1;gen-2;gen-3')
  t.true(closed)
})

test('a large streamed response arrives whole and in order', async (t) => {
  const n = 20000
  const { data } = await rawExchange(stream.port, `GET /big?n=${n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { timeout: 20_000 })
  const res = parseResponse(data)
  t.true(res.complete)
  const lines = res.body.trimEnd().split('\n')
  t.is(lines.length, n)
  t.is(lines[0], 'line 0')
  t.is(lines[n - 1], `line ${n - 1}`)
})

test('pipelined requests after a chunked response', async (t) => {
  const conn = await openSocket(stream.port)
  try {
    conn.write('GET /gen HTTP/1.1\r\nHost: x\r\n\r\nGET /string HTTP/1.1\r\nHost: x\r\n\r\nGET /agen HTTP/1.1\r\nHost: x\r\n\r\n')
    await conn.until(complete(3), PATIENCE_MS, '3 responses')
    const { responses } = parseResponses(conn.data())
    t.deepEqual(
      responses.map((r) => r.body),
      ['gen-1;gen-2;gen-3', 'a string body', 'agen-1;agen-2;agen-3'],
    )
    t.deepEqual(
      responses.map((r) => Boolean(r.chunked)),
      [true, false, true],
    )
  } finally {
    conn.close()
  }
})
