// The native app interface: every return type, async handlers, errors before and after the
// response started, invalid response headers, and the environ.
import { readFileSync } from 'node:fs'

import test from 'ava'

import { appPath, get, killAll, openSocket, parseResponse, parseResponses, PATIENCE_MS, rawExchange, startUgn } from './helpers/ugn.mjs'

let stream
let errors
let environ

test.before(async () => {
  ;[stream, errors, environ] = await Promise.all([
    startUgn(appPath('stream.mjs')),
    startUgn(appPath('errors.mjs')),
    startUgn(appPath('environ.mjs'), ['-w', '2']),
  ])
})

test.after.always(async () => {
  await Promise.allSettled([stream?.stop('SIGTERM'), errors?.stop('SIGTERM'), environ?.stop('SIGTERM')])
  killAll()
})

const fixture = readFileSync(new URL('./apps/fixture.txt', import.meta.url), 'utf8')

// [path, status, body, framing: 'length' | 'chunked']
const bodies = [
  ['/string', 200, 'a string body', 'length'],
  ['/buffer', 200, 'a buffer body', 'length'],
  ['/uint8', 200, 'a uint8array body', 'length'],
  ['/array', 200, 'an array body', 'length'],
  ['/empty', 200, '', 'length'],
  ['/promise', 200, 'a promised body', 'length'],
  ['/async', 201, 'async handler', 'length'],
  ['/gen', 200, 'gen-1;gen-2;gen-3', 'chunked'],
  ['/agen', 200, 'agen-1;agen-2;agen-3', 'chunked'],
  // SPEC: "or return a body whose iteration calls it [startResponse] before yielding the first chunk".
  ['/lazy-start', 200, 'lazy', 'chunked'],
  ['/readable', 200, 'readable-1;readable-2', 'chunked'],
  ['/file', 200, fixture, 'chunked'],
  ['/write', 200, 'written-1;written-2;returned', 'chunked'],
]

for (const [path, status, body, framing] of bodies) {
  test(`return type ${path}: ${status} with the right body and framing`, async (t) => {
    const { data } = await rawExchange(stream.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    const res = parseResponse(data)
    t.is(res.status, status)
    t.is(res.body, body)
    t.true(res.complete)
    if (framing === 'length') {
      t.is(res.headers['content-length'], String(Buffer.byteLength(body)))
      t.is(res.headers['transfer-encoding'], undefined)
    } else {
      t.is(res.headers['transfer-encoding'], 'chunked')
      t.is(res.headers['content-length'], undefined)
    }
    t.is(res.headers['content-type'], 'text/plain')
    t.is(res.headers.server, 'ugn')
    t.truthy(res.headers.date)
  })
}

test('a returned body\'s close() is called after it was sent', async (t) => {
  const tag = `c${Date.now()}`
  const res = await get(`${stream.url}/closable?tag=${tag}`)
  t.is(await res.text(), 'one;two')
  await stream.waitForLog(new RegExp(`body closed ${tag}`))
  t.pass()
})

test('a client that goes away stops an endless streamed body', async (t) => {
  const tag = `e${Date.now()}`
  const conn = await openSocket(stream.port)
  conn.write(`GET /endless?tag=${tag} HTTP/1.1\r\nHost: x\r\n\r\n`)
  await conn.until((d) => d.includes('tick 2'), PATIENCE_MS, 'a few ticks')
  t.regex(conn.data(), /Transfer-Encoding: chunked/)
  conn.close()
  await stream.waitForLog(new RegExp(`endless stopped ${tag}`))
  // The worker is fine afterwards.
  const res = await get(`${stream.url}/string`)
  t.is(await res.text(), 'a string body')
})

test('null body with 204: no body and no Content-Length', async (t) => {
  const { data } = await rawExchange(stream.port, 'GET /null HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const res = parseResponse(data)
  t.is(res.status, 204)
  t.is(res.headers['content-length'], undefined)
  t.is(res.headers['transfer-encoding'], undefined)
  t.true(data.endsWith('\r\n\r\n'))
})

test('headers as an object, with a number value', async (t) => {
  const res = await get(`${stream.url}/object-headers`)
  t.is(res.status, 200)
  t.is(res.headers.get('x-number'), '42')
  t.is(res.headers.get('content-type'), 'text/plain')
  t.is(await res.text(), 'object headers')
})

test('repeated headers (Set-Cookie) are all sent, in order', async (t) => {
  const { data } = await rawExchange(stream.port, 'GET /set-cookies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const res = parseResponse(data)
  t.deepEqual(
    res.rawHeaders.filter(([n]) => n.toLowerCase() === 'set-cookie').map(([, v]) => v),
    ['a=1', 'b=2'],
  )
})

test('a slow async handler answers after its delay', async (t) => {
  const res = await get(`${stream.url}/slow?ms=200`)
  t.is(res.status, 200)
  t.is(await res.text(), 'slept 200')
})

test('an app that throws synchronously: 500 and "Error handling request" logged', async (t) => {
  const res = await get(`${errors.url}/sync-throw`)
  t.is(res.status, 500)
  t.is(res.headers.get('server'), 'ugn')
  await res.text()
  await errors.waitForLog(/Error handling request GET \/sync-throw[\s\S]*sync failure \(ugn-test-marker\)/)
  t.pass()
})

test('an async app that rejects: 500 and the error logged', async (t) => {
  const res = await get(`${errors.url}/async-reject`)
  t.is(res.status, 500)
  await res.text()
  const m = await errors.waitForLog(/Error handling request GET \/async-reject[\s\S]*async failure \(ugn-test-marker\)/)
  t.truthy(m)
})

for (const path of ['/throw-after-start', '/async-throw-after-start']) {
  test(`an app failing after the response started (${path}): the connection is closed, no complete response`, async (t) => {
    const { data, closed } = await rawExchange(errors.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
    t.true(closed, 'the connection is closed')
    t.notRegex(data, / 500 /, 'no 500 can follow a started response')
    t.false(data.endsWith('0\r\n\r\n'), 'the chunked body has no terminating chunk')
    if (data !== '') {
      // What was sent, if anything, is the start of the 200 response, cut short.
      const res = parseResponse(data)
      t.is(res.status, 200)
      t.true(res.chunked)
      t.false(res.complete)
      t.true('partial body;'.startsWith(res.body) || res.body.startsWith('partial body;'))
    }
    await errors.waitForLog(new RegExp(`Error handling request GET ${path} after its response started`))
  })
}

test('a response header value with CRLF: 500, nothing injected, the header named in the log', async (t) => {
  const { data } = await rawExchange(errors.port, 'GET /crlf-header HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const res = parseResponse(data)
  t.is(res.status, 500)
  t.false(/evil=1/.test(data), 'the injected header is not sent')
  t.is(res.headers['x-injected'], undefined)
  t.notRegex(res.body, /must not be sent/)
  await errors.waitForLog(/X-Injected/)
})

test('an invalid response header name: 500 and the header named in the log', async (t) => {
  const res = await get(`${errors.url}/bad-header-name`)
  t.is(res.status, 500)
  t.notRegex(await res.text(), /must not be sent/)
  await errors.waitForLog(/Bad Name/)
})

test('returning without calling startResponse: 500', async (t) => {
  const res = await get(`${errors.url}/no-start`)
  t.is(res.status, 500)
  t.notRegex(await res.text(), /body without startResponse/)
  await errors.waitForLog(/Error handling request GET \/no-start/)
})

test('returning something that is not a body: 500', async (t) => {
  const res = await get(`${errors.url}/bad-body`)
  t.is(res.status, 500)
  await res.text()
  await errors.waitForLog(/Error handling request GET \/bad-body/)
})

test('startResponse with excInfo before anything was sent replaces status and headers', async (t) => {
  const res = await get(`${errors.url}/exc-info`)
  t.is(res.status, 503)
  t.is(res.headers.get('x-second'), '2')
  t.is(res.headers.get('x-first'), null)
  t.is(await res.text(), 'replaced')
})

test('a whole body that does not match the app\'s Content-Length: 500, the mismatch logged', async (t) => {
  const { data } = await rawExchange(errors.port, 'GET /length-mismatch HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const res = parseResponse(data)
  t.is(res.status, 500)
  t.notRegex(data, /too short/)
  await errors.waitForLog(/Content-Length header says 100 bytes but the body has 9 bytes/)
})

test('a streamed body shorter than the app\'s Content-Length: the connection is closed, the message is not completed', async (t) => {
  const { data, closed } = await rawExchange(errors.port, 'GET /length-mismatch-stream HTTP/1.1\r\nHost: x\r\n\r\n')
  t.true(closed, 'the connection cannot be reused')
  if (data !== '') {
    const res = parseResponse(data)
    t.is(res.status, 200)
    t.is(res.headers['content-length'], '100')
    t.false(res.complete, 'fewer bytes than Content-Length were sent')
  }
})

test.serial('after every app error the worker still serves, unreplaced', async (t) => {
  const [pid] = errors.workerPids()
  for (const path of ['/sync-throw', '/async-reject', '/throw-after-start', '/crlf-header', '/bad-header-name', '/no-start']) {
    await rawExchange(errors.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  }
  const res = await get(`${errors.url}/ok`)
  t.is(res.status, 200)
  t.is(await res.text(), 'ok')
  t.is(Number(res.headers.get('x-pid')), pid)
  t.is(errors.bootedPids().length, 1)
})

test('environ: CGI keys for a request with a query, an encoded path, repeated headers and a body', async (t) => {
  const conn = await openSocket(environ.port)
  try {
    conn.write(
      'POST /caf%C3%A9/a%20b%2Fc?x=1&y=%20z HTTP/1.1\r\n' +
        `Host: localhost:${environ.port}\r\n` +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 11\r\n' +
        'X-Multi: one\r\n' +
        'X-Multi: two\r\n' +
        'x-multi: three\r\n' +
        'User-Agent: ugn-tests\r\n' +
        '\r\n' +
        'hello world',
    )
    await conn.until((d) => {
      try {
        return parseResponses(d).responses[0]?.complete
      } catch {
        return false
      }
    })
    const res = parseResponse(conn.data())
    t.is(res.status, 200)
    // The app's JSON string went out as UTF-8; the raw bytes were read as latin1.
    const env = JSON.parse(Buffer.from(res.body, 'latin1').toString('utf8'))
    const localPort = conn.socket.localPort
    t.is(env.REQUEST_METHOD, 'POST')
    t.is(env.SCRIPT_NAME, '')
    t.is(env.PATH_INFO, '/caf\u00c3\u00a9/a b/c')
    t.is(Buffer.from(env.PATH_INFO, 'latin1').toString('utf8'), '/café/a b/c')
    t.is(env.QUERY_STRING, 'x=1&y=%20z')
    t.is(env.RAW_URI, '/caf%C3%A9/a%20b%2Fc?x=1&y=%20z')
    t.is(env.SERVER_PROTOCOL, 'HTTP/1.1')
    t.is(env.SERVER_NAME, '127.0.0.1')
    t.is(env.SERVER_PORT, String(environ.port))
    t.is(env.REMOTE_ADDR, '127.0.0.1')
    t.is(env.REMOTE_PORT, String(localPort))
    t.is(env.CONTENT_TYPE, 'text/plain; charset=utf-8')
    t.is(env.CONTENT_LENGTH, '11')
    t.is(env.HTTP_CONTENT_TYPE, undefined)
    t.is(env.HTTP_CONTENT_LENGTH, undefined)
    t.is(env.HTTP_HOST, `localhost:${environ.port}`)
    t.is(env.HTTP_X_MULTI, 'one,two,three')
    t.is(env.HTTP_USER_AGENT, 'ugn-tests')
    t.is(env.body, 'hello world')
    t.is(env['ugn.url_scheme'], 'http')
    t.true(env['ugn.multiprocess'], 'two workers: multiprocess is true')
    t.false(env['ugn.multithread'])
    t.false(env['ugn.run_once'])
    t.deepEqual(env['ugn.version'], [1, 0])
    t.true(env['ugn.input:hasBuffer'])
    t.true(env['ugn.input:asyncIterable'])
    t.true(env['ugn.errors:hasWrite'])
    t.true(env['ugn.file_wrapper:isFunction'])
  } finally {
    conn.close()
  }
})

test('environ: a GET without query or body has empty QUERY_STRING and no CONTENT_* keys', async (t) => {
  const res = await get(`${environ.url}/plain`)
  const env = await res.json()
  t.is(env.PATH_INFO, '/plain')
  t.is(env.QUERY_STRING, '')
  t.is(env.RAW_URI, '/plain')
  t.false('CONTENT_TYPE' in env)
  t.false('CONTENT_LENGTH' in env)
  t.is(env.body, '')
})

test('environ: header keys stay right as names change order and spelling, past the addon\'s 1,024 name ids', async (t) => {
  // One connection, so one worker sees every name: 13 requests of 90 new names each, then
  // names seen before in other positions and spellings, and one too long for an id.
  const requests = []
  const expected = []
  for (let r = 0; r < 13; r++) {
    const names = Array.from({ length: 90 }, (_, i) => `X-N${r}-${i}`)
    requests.push(names.map((n, i) => `${n}: v${r}.${i}`))
    expected.push(Object.fromEntries(names.map((n, i) => [`HTTP_${n.toUpperCase().replace(/-/g, '_')}`, `v${r}.${i}`])))
  }
  const long = `X-${'L'.repeat(70)}`
  requests.push(['x-n0-1: late', 'X-N12-89: again', 'X-N0-1: twice', 'Accept: */*', `${long}: long`])
  expected.push({ HTTP_X_N0_1: 'late,twice', HTTP_X_N12_89: 'again', HTTP_ACCEPT: '*/*', [`HTTP_X_${'L'.repeat(70)}`]: 'long' })
  const raw = requests
    .map((fields, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n${fields.join('\r\n')}\r\n${i === requests.length - 1 ? 'Connection: close\r\n' : ''}\r\n`)
    .join('')
  const { data } = await rawExchange(environ.port, raw)
  const { responses } = parseResponses(data)
  t.is(responses.length, requests.length)
  responses.forEach((res, i) => {
    const env = JSON.parse(res.body)
    const got = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('HTTP_') && k !== 'HTTP_HOST' && k !== 'HTTP_CONNECTION'))
    t.deepEqual(got, expected[i], `request ${i}`)
  })
})

test('environ: header names with underscores are dropped', async (t) => {
  const { data } = await rawExchange(environ.port, 'GET / HTTP/1.1\r\nHost: x\r\nX_Forwarded_For: 6.6.6.6\r\nX-Real: yes\r\nConnection: close\r\n\r\n')
  const env = JSON.parse(parseResponse(data).body)
  t.is(env.HTTP_X_REAL, 'yes')
  t.is(env.HTTP_X_FORWARDED_FOR, undefined)
})

test('environ: the body read with for-await over a chunked upload', async (t) => {
  const { data } = await rawExchange(
    environ.port,
    'PUT /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n',
  )
  const env = JSON.parse(parseResponse(data).body)
  t.is(env.REQUEST_METHOD, 'PUT')
  t.is(env.body, 'abcdefg')
  t.is(env.CONTENT_LENGTH, undefined)
})
