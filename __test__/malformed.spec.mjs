// Malformed requests over raw sockets: each gets its status and Connection: close, and none
// of them kills a worker.
import test from 'ava'

import { appPath, get, isAlive, killAll, parseResponse, rawExchange, startUgn } from './helpers/ugn.mjs'

let server
let initialPids

test.before(async () => {
  server = await startUgn(appPath('echo.mjs'), ['-w', '2'])
  initialPids = server.workerPids().sort()
})

test.after.always(async () => {
  await server?.stop('SIGTERM').catch(() => {})
  killAll()
})

const H = 'Host: localhost\r\n'
const cases = [
  ['Content-Length together with Transfer-Encoding', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
  ['Transfer-Encoding before Content-Length', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`, 400],
  ['non-hex chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, 400],
  ['overflowing chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nhello\r\n0\r\n\r\n`, 400],
  ['negative chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n`, 400],
  ['chunk data not followed by CRLF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n`, 400],
  ['control character in a chunk extension', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;\x01\r\nhello\r\n0\r\n\r\n`, 400],
  ['whitespace before the colon', `GET / HTTP/1.1\r\nHost : localhost\r\n\r\n`, 400],
  ['obsolete line folding', `GET / HTTP/1.1\r\n${H}X-Folded: a\r\n  b\r\n\r\n`, 400],
  ['control character in a header value', `GET / HTTP/1.1\r\n${H}X-Ctl: a\x01b\r\n\r\n`, 400],
  ['NUL in a header value', `GET / HTTP/1.1\r\n${H}X-Nul: a\x00b\r\n\r\n`, 400],
  ['non-token byte in a header name', `GET / HTTP/1.1\r\n${H}X-\xe9: v\r\n\r\n`, 400],
  ['header line without a colon', `GET / HTTP/1.1\r\n${H}NoColonHere\r\n\r\n`, 400],
  ['empty header name', `GET / HTTP/1.1\r\n${H}: value\r\n\r\n`, 400],
  ['invalid characters in the method', `G@T / HTTP/1.1\r\n${H}\r\n`, 400],
  ['method preceded by a space', ` GET / HTTP/1.1\r\n${H}\r\n`, 400],
  ['HTTP/2.0 request line', `GET / HTTP/2.0\r\n${H}\r\n`, 400],
  ['HTTP/1.10 request line', `GET / HTTP/1.10\r\n${H}\r\n`, 400],
  ['HTTP/1.1 request without Host', `GET / HTTP/1.1\r\n\r\n`, 400],
  ['Host with userinfo', `GET / HTTP/1.1\r\nHost: user@localhost\r\n\r\n`, 400],
  ['Host with a comma list', `GET / HTTP/1.1\r\nHost: a.example, b.example\r\n\r\n`, 400],
  ['Transfer-Encoding without a final chunked (identity)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello`, 400],
  ['CONNECT without a port', `CONNECT localhost HTTP/1.1\r\n${H}\r\n`, 400],
  ['lower-case protocol name', `GET / http/1.1\r\n${H}\r\n`, 400],
  ['HTTP/0.9 request line (no version)', `GET /\r\n\r\n`, 400],
  ['two spaces in the request line', `GET  / HTTP/1.1\r\n${H}\r\n`, 400],
  ['space inside the request target', `GET /a b HTTP/1.1\r\n${H}\r\n`, 400],
  ['negative Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, 400],
  ['non-numeric Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: abc\r\n\r\n`, 400],
  ['conflicting Content-Length headers', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 400],
  ['chunked not the final transfer coding', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, 400],
  ['request line over --limit-request-line (4094)', `GET /${'a'.repeat(5000)} HTTP/1.1\r\n${H}\r\n`, 414],
  ['more than --limit-request-fields (100) header fields', `GET / HTTP/1.1\r\n${H}${Array.from({ length: 101 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`, 431],
  ['a header field over --limit-request-field-size (8190)', `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(9000)}\r\n\r\n`, 431],
]

test.serial('the table holds at least 15 malformed requests', (t) => {
  t.true(cases.length >= 15)
})

for (const [name, bytes, status] of cases) {
  test.serial(`${status} for ${name}`, async (t) => {
    const { data, closed } = await rawExchange(server.port, bytes, { timeout: 5000 })
    t.not(data, '', 'the server answers before closing')
    const res = parseResponse(data)
    t.is(res.status, status, `response: ${JSON.stringify(data.slice(0, 200))}`)
    t.is(res.headers.connection?.toLowerCase(), 'close')
    t.true(closed, 'the server closes the connection after rejecting the request')
    t.is(res.headers.server, 'ugn')
  })
}

test.serial('the limits follow --limit-request-line, --limit-request-fields and --limit-request-field-size', async (t) => {
  const small = await startUgn(appPath('echo.mjs'), ['--limit-request-line', '100', '--limit-request-fields', '5', '--limit-request-field-size', '60'])
  try {
    const line = (n) => `GET /${'a'.repeat(n - 'GET / HTTP/1.1'.length)} HTTP/1.1`
    const ok = await rawExchange(small.port, `${line(100)}\r\n${H}Connection: close\r\n\r\n`)
    t.is(parseResponse(ok.data).status, 200)
    const long = await rawExchange(small.port, `${line(101)}\r\n${H}Connection: close\r\n\r\n`)
    t.is(parseResponse(long.data).status, 414)
    const five = Array.from({ length: 3 }, (_, i) => `X-H${i}: v\r\n`).join('')
    t.is(parseResponse((await rawExchange(small.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n${five}\r\n`)).data).status, 200)
    const six = Array.from({ length: 4 }, (_, i) => `X-H${i}: v\r\n`).join('')
    t.is(parseResponse((await rawExchange(small.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n${six}\r\n`)).data).status, 431)
    const big = await rawExchange(small.port, `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(100)}\r\n\r\n`)
    t.is(parseResponse(big.data).status, 431)
  } finally {
    await small.stop('SIGTERM')
  }
})

test.serial('a request line just under the limit is accepted', async (t) => {
  // 4094 bytes including the method, the target and the version, without CRLF.
  const target = `/${'a'.repeat(4094 - 'GET  HTTP/1.1'.length - 1)}`
  const line = `GET ${target} HTTP/1.1`
  t.is(line.length, 4094)
  const { data } = await rawExchange(server.port, `${line}\r\n${H}Connection: close\r\n\r\n`)
  t.is(parseResponse(data).status, 200)
})

test.serial('exactly --limit-request-fields (100) fields are accepted', async (t) => {
  const fields = Array.from({ length: 98 }, (_, i) => `X-H${i}: v\r\n`).join('')
  const { data } = await rawExchange(server.port, `GET / HTTP/1.1\r\n${H}Connection: close\r\n${fields}\r\n`)
  t.is(parseResponse(data).status, 200)
})

test.serial('HTTP/1.2 to HTTP/1.9 are served as HTTP/1.1 (RFC 9110 §2.5)', async (t) => {
  const { data } = await rawExchange(server.port, `GET /minor HTTP/1.2\r\n${H}Connection: close\r\n\r\n`)
  const res = parseResponse(data)
  t.is(res.status, 200)
  t.is(res.version, 'HTTP/1.1')
  t.is(JSON.parse(res.body).protocol, 'HTTP/1.1')
})

test.serial('a bad request after a good one on the same connection: the good one is answered first', async (t) => {
  const { data, closed } = await rawExchange(server.port, `GET /good HTTP/1.1\r\n${H}\r\nGET / HTTP/9.9\r\n${H}\r\n`)
  const first = parseResponse(data)
  t.is(first.status, 200)
  t.is(JSON.parse(first.body).path, '/good')
  t.regex(data.slice(data.indexOf('\r\n\r\n') + 4), /HTTP\/1\.1 400 /)
  t.true(closed)
})

// Every test here is serial, so this one runs after all the others.
test.serial('after every malformed request the same workers still serve', async (t) => {
  // Run the whole table once more, all at once, then check the workers.
  await Promise.all(cases.map(([, bytes]) => rawExchange(server.port, bytes, { timeout: 5000 })))
  t.is(initialPids.length, 2)
  for (const pid of initialPids) t.true(isAlive(pid), `worker ${pid} is alive`)
  t.deepEqual(server.workerPids().sort(), initialPids, 'no worker was replaced')
  t.is(server.bootedPids().length, 2, 'no new worker booted')
  const seen = new Set()
  for (let i = 0; i < 30 && seen.size < 2; i++) {
    const res = await get(`${server.url}/still-alive`)
    t.is(res.status, 200)
    seen.add(Number(res.headers.get('x-pid')))
  }
  for (const pid of seen) t.true(initialPids.includes(pid), `pid ${pid} answering is an original worker`)
  t.notRegex(server.log(), /exited with code|was sent SIG/)
})
