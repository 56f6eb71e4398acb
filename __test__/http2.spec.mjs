// HTTP/2 in the engine: h2 over TLS (ALPN, --http-protocols) beside HTTP/1.1 on the same port,
// h2c with prior knowledge (--http2-cleartext prior-knowledge) for trusted peers only, the
// three app interfaces unchanged over it (bodies both ways through flow control, HEAD, trailers,
// 103 Early Hints, connection-specific headers dropped), concurrent streams and the SETTINGS the
// server advertises, a stream reset mid-body, GOAWAY on a graceful stop, and every bad http2
// setting refused with status 2. Clients are Node's http2 module and curl (with nghttp2).
// Certificates are made for each run with the openssl command, as in tls.spec.mjs.
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http2 from 'node:http2'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { pattern } from './apps/http2-native.mjs'
import { appPath, get, killAll, PATIENCE_MS, rawRequest, runUgn, sleep, startUgn, waitFor } from './helpers/ugn.mjs'

const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-http2-'))
const file = (name) => path.join(dir, name)
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.pem', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
  { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
)
const ca = readFileSync(file('server.pem'))
const TLS_ARGS = ['--certfile', file('server.pem'), '--keyfile', file('server.key')]
const H2C = ['--workers', '1', '--http-protocols', 'h1,h2', '--http2-cleartext', 'prior-knowledge']
const H2_TLS = ['--workers', '1', '--http-protocols', 'h2,h1', ...TLS_ARGS]

const APPS = {
  native: appPath('http2-native.mjs'),
  fetch: appPath('http2-fetch.mjs'),
  node: appPath('http2-node.mjs'),
  express: `${appPath('http2-express.mjs')}:app`,
}

const MiB = 1 << 20
/** How long a stream of /slow?until=K waits for the others: a server that runs them concurrently
 * has them all in the app within milliseconds, so this only bounds a server that does not. */
const GATE_MS = 10_000
/** Each test's own limit: the tests of this file run at once and wait for shared servers, so one
 * takes up to several seconds on a quiet machine; this leaves room for a start and a few steps
 * of PATIENCE_MS on a machine several times slower. */
const TEST_TIMEOUT_MS = 3 * PATIENCE_MS
const servers = []
const sessions = new Set()

test.after.always(async () => {
  for (const session of sessions) session.destroy()
  await Promise.all(servers.map((s) => s.stop('SIGTERM').catch(() => {})))
  killAll()
  rmSync(dir, { recursive: true, force: true })
})

/** Starts ugn; finds its port even if the listener is logged with another scheme than http. */
async function serve(app, args) {
  const server = await startUgn(app, args)
  servers.push(server)
  if (!server.port) {
    const port = server.listeners.map((l) => /^\w+:\/\/127\.0\.0\.1:(\d+)/.exec(l)?.[1]).find(Boolean)
    if (!port) throw new Error(`no 127.0.0.1 listener in ${JSON.stringify(server.listeners)}`)
    server.port = Number(port)
    server.url = `http://127.0.0.1:${server.port}`
  }
  return server
}

/** One server per key, shared by the tests that only send requests to it. */
const shared = new Map()
function sharedServer(key, app, args) {
  if (!shared.has(key)) shared.set(key, serve(app, args))
  return shared.get(key)
}
const h2cServer = (iface) => sharedServer(`h2c ${iface}`, APPS[iface], H2C)
const tlsServer = () => sharedServer('tls native', APPS.native, H2_TLS)

/** An HTTP/2 session, once connected (bounded); destroyed after the file if left open. */
function connect(url, options = {}, timeout = PATIENCE_MS) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, options)
    sessions.add(session)
    const timer = setTimeout(() => {
      session.destroy()
      reject(new Error(`no HTTP/2 session with ${url} within ${timeout} ms`))
    }, timeout)
    const onError = (err) => {
      clearTimeout(timer)
      session.destroy()
      reject(err)
    }
    session.once('error', onError)
    session.once('connect', () => {
      clearTimeout(timer)
      session.off('error', onError)
      // Later session errors fail the streams in flight; they must not be uncaught.
      session.on('error', () => {})
      resolve(session)
    })
  })
}

/**
 * One request on a session: resolves to { status, headers, informational (the 1xx header
 * blocks), trailers, body (Buffer) } once the stream ends; rejects on a stream error, a reset,
 * or after `timeout` ms.
 */
function request(session, headers, { body, timeout = PATIENCE_MS } = {}) {
  return new Promise((resolve, reject) => {
    const what = `${headers[':method'] ?? 'GET'} ${headers[':path']}`
    const req = session.request(headers, { endStream: body === undefined })
    const informational = []
    const chunks = []
    let response
    let trailers
    let settled = false
    const settle = (fn, value) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      fn(value)
    }
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL)
      settle(reject, new Error(`no complete response to ${what} within ${timeout} ms`))
    }, timeout)
    req.on('headers', (h) => informational.push(h))
    req.on('response', (h) => (response = h))
    req.on('trailers', (h) => (trailers = h))
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => settle(resolve, { status: response?.[':status'], headers: response, informational, trailers, body: Buffer.concat(chunks) }))
    req.on('error', (err) => settle(reject, err))
    req.on('close', () => settle(reject, new Error(`stream of ${what} closed (code ${req.rstCode}) before its response ended`)))
    if (body !== undefined) req.end(body)
  })
}

const json = (res) => JSON.parse(res.body.toString())
const sha = (buf) => createHash('sha256').update(buf).digest('hex')

/** Resolves to the promise's value, or rejects after ms. */
function within(promise, ms, what) {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`timed out after ${ms} ms waiting for ${what}`)))])
}

/** One https GET with the given TLS options: status, body, the negotiated ALPN. */
function httpsGet(port, urlPath, options = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', servername: 'localhost', port, path: urlPath, ca, agent: false, ...options }, (res) => {
      let body = ''
      const alpn = res.socket.alpnProtocol
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, body, alpn, httpVersion: res.httpVersion }))
    })
    req.on('error', reject)
    req.setTimeout(PATIENCE_MS, () => req.destroy(new Error('timeout')))
  })
}

/** Runs curl (bounded); `-w '\n%{http_version}'` puts the version on the last line of stdout. */
function curl(args) {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', String(PATIENCE_MS / 1000), '-w', '\n%{http_version}', ...args], { encoding: 'utf8', timeout: PATIENCE_MS + 5000 }, (err, stdout, stderr) => {
      const cut = stdout.lastIndexOf('\n')
      resolve({ code: err ? (err.code ?? err.signal) : 0, body: stdout.slice(0, cut), version: stdout.slice(cut + 1), stderr })
    })
  })
}

// ---------------------------------------------------------------------------------------------
// 1, 2: TLS and ALPN, curl over TLS and over h2c

test('TLS with --http-protocols h2,h1: an h2 client speaks HTTP/2, HTTP/1.1 clients still get HTTP/1.1', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await tlsServer()
  // No servername: :authority is then 127.0.0.1:PORT (the certificate names that address too).
  const session = await connect(`https://127.0.0.1:${server.port}`, { ca })
  t.is(session.alpnProtocol, 'h2')
  t.true(session.encrypted)
  const res = await request(session, { ':path': '/info?q=1', 'x-test': 'over tls' })
  t.is(res.status, 200)
  t.is(res.headers.server, 'ugn')
  t.truthy(res.headers.date)
  t.is(res.headers['content-type'], 'application/json')
  t.is(Number(res.headers['content-length']), res.body.length)
  t.like(json(res), { method: 'GET', path: '/info', query: 'q=1', protocol: 'HTTP/2.0', host: `127.0.0.1:${server.port}`, test: 'over tls', scheme: 'https', tls: true })
  session.close()

  const h1 = await httpsGet(server.port, '/info', { ALPNProtocols: ['http/1.1'] })
  t.is(h1.alpn, 'http/1.1')
  t.is(h1.httpVersion, '1.1')
  t.like(JSON.parse(h1.body), { protocol: 'HTTP/1.1', scheme: 'https', tls: true })
  const noAlpn = await httpsGet(server.port, '/info')
  t.like(JSON.parse(noAlpn.body), { protocol: 'HTTP/1.1', scheme: 'https' }, 'a client that offers no ALPN gets HTTP/1.1')
})

test('TLS without h2 in --http-protocols (the default h1): a client that asks only for h2 gets no HTTP/2', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await serve(APPS.native, ['--workers', '1', ...TLS_ARGS])
  await t.throwsAsync(async () => {
    const session = await connect(`https://127.0.0.1:${server.port}`, { ca, servername: 'localhost' })
    try {
      await request(session, { ':path': '/info' }, { timeout: 5000 })
    } finally {
      session.destroy()
    }
  })
  t.is((await httpsGet(server.port, '/info', { ALPNProtocols: ['h2', 'http/1.1'] })).alpn, 'http/1.1')
})

test('curl --http2 over TLS negotiates h2; curl --http1.1 on the same port gets HTTP/1.1', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await tlsServer()
  const h2 = await curl(['--http2', '-k', '-v', `https://127.0.0.1:${server.port}/info?via=curl`])
  t.is(h2.code, 0, h2.stderr)
  t.is(h2.version, '2', h2.stderr)
  t.regex(h2.stderr, /ALPN: server accepted h2|ALPN, server accepted to use h2/)
  t.like(JSON.parse(h2.body), { protocol: 'HTTP/2.0', query: 'via=curl', scheme: 'https', host: `127.0.0.1:${server.port}` })
  const h1 = await curl(['--http1.1', '-k', `https://127.0.0.1:${server.port}/info`])
  t.is(h1.version, '1.1', h1.stderr)
  t.like(JSON.parse(h1.body), { protocol: 'HTTP/1.1' })
})

test('curl --http2-prior-knowledge speaks h2c; plain curl on the same port gets HTTP/1.1', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await h2cServer('native')
  const h2c = await curl(['--http2-prior-knowledge', '-v', '-H', 'X-Test: prior', `http://127.0.0.1:${server.port}/info?a=b`])
  t.is(h2c.code, 0, h2c.stderr)
  t.is(h2c.version, '2', h2c.stderr)
  t.like(JSON.parse(h2c.body), { protocol: 'HTTP/2.0', query: 'a=b', test: 'prior', scheme: 'http', tls: false, host: `127.0.0.1:${server.port}` })
  const post = await curl(['--http2-prior-knowledge', '--data-binary', 'posted by curl', `http://127.0.0.1:${server.port}/info`])
  t.like(JSON.parse(post.body), { method: 'POST', body: 'posted by curl', protocol: 'HTTP/2.0' })
  const h1 = await curl([`http://127.0.0.1:${server.port}/info`])
  t.is(h1.version, '1.1')
  t.like(JSON.parse(h1.body), { protocol: 'HTTP/1.1' })
})

// ---------------------------------------------------------------------------------------------
// 3: the three interfaces over h2c

/** What each interface's /info must say about GET /info?a=1&b=two%20words with X-Test. */
const INFO = {
  native: (port) => ({ method: 'GET', path: '/info', query: 'a=1&b=two%20words', rawUri: '/info?a=1&b=two%20words', protocol: 'HTTP/2.0', host: `127.0.0.1:${port}`, test: 'yes', scheme: 'http', remote: '127.0.0.1' }),
  fetch: (port) => ({ method: 'GET', url: `http://127.0.0.1:${port}/info?a=1&b=two%20words`, host: `127.0.0.1:${port}`, test: 'yes' }),
  node: (port) => ({ method: 'GET', url: '/info?a=1&b=two%20words', httpVersion: '2.0', host: `127.0.0.1:${port}`, test: 'yes' }),
}

for (const iface of ['native', 'fetch', 'node']) {
  test(`${iface}: GET with a query and headers, and a POST, over h2c; date, server and content-length come back`, async (t) => {
    t.timeout(TEST_TIMEOUT_MS)
    const server = await h2cServer(iface)
    const session = await connect(server.url)
    const res = await request(session, { ':path': '/info?a=1&b=two%20words', 'x-test': 'yes' })
    t.is(res.status, 200)
    t.like(json(res), INFO[iface](server.port))
    t.is(res.headers.server, 'ugn')
    t.regex(res.headers.date, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/)
    // Content-Length wherever the interface knows the length before the body goes out (the
    // fetch adapter streams Response.json() as it does over HTTP/1.1).
    if (iface !== 'fetch' || 'content-length' in res.headers) t.is(Number(res.headers['content-length']), res.body.length)
    const post = await request(session, { ':method': 'POST', ':path': '/info', 'content-type': 'text/plain' }, { body: 'a small body' })
    t.like(json(post), { method: 'POST', body: 'a small body' })
    session.close()
  })

  test(`${iface}: a 1 MiB upload echoes back and a 1 MiB download arrives whole, through the default 65535-byte windows`, async (t) => {
    t.timeout(TEST_TIMEOUT_MS)
    const server = await h2cServer(iface)
    const session = await connect(server.url)
    const upload = Buffer.from(pattern(MiB).map((b) => b ^ 0x5a))
    const echoed = await request(session, { ':method': 'POST', ':path': '/echo', 'content-type': 'application/octet-stream' }, { body: upload })
    t.is(echoed.status, 200)
    t.is(echoed.body.length, MiB)
    t.is(sha(echoed.body), sha(upload))
    const down = await request(session, { ':path': '/download' })
    t.is(down.status, 200)
    t.is(down.headers['content-length'], String(MiB))
    t.is(sha(down.body), sha(pattern(MiB)))
    session.close()
  })

  test(`${iface}: HEAD gets the headers of the GET and no body`, async (t) => {
    t.timeout(TEST_TIMEOUT_MS)
    const server = await h2cServer(iface)
    const session = await connect(server.url)
    const res = await request(session, { ':method': 'HEAD', ':path': '/download' })
    t.is(res.status, 200)
    t.is(res.body.length, 0)
    t.is(res.headers['content-type'], 'application/octet-stream')
    if (iface === 'native') t.is(res.headers['content-length'], String(MiB))
    else t.true([undefined, String(MiB)].includes(res.headers['content-length']), res.headers['content-length'])
    session.close()
  })

  test(`${iface}: Connection, Keep-Alive and Transfer-Encoding the app sets are dropped over HTTP/2`, async (t) => {
    t.timeout(TEST_TIMEOUT_MS)
    const server = await h2cServer(iface)
    const session = await connect(server.url)
    // Node's client refuses a response carrying a connection-specific field (RFC 9113 §8.2.2).
    const res = await request(session, { ':path': '/hop' })
    t.is(res.status, 200)
    t.is(res.body.toString(), 'hop by hop')
    t.is(res.headers['x-kept'], 'yes')
    for (const name of ['connection', 'keep-alive', 'transfer-encoding']) t.false(name in res.headers, name)
    session.close()
  })
}

for (const iface of ['native', 'node']) {
  test(`${iface}: response trailers arrive as a trailing HEADERS frame`, async (t) => {
    t.timeout(TEST_TIMEOUT_MS)
    const server = await h2cServer(iface)
    const session = await connect(server.url)
    const res = await request(session, { ':path': iface === 'native' ? '/stream' : '/trailers' })
    t.is(res.status, 200)
    if (iface === 'native') {
      const whole = pattern(256 * 1024)
      t.is(sha(res.body), sha(whole))
      t.is(res.trailers?.['x-checksum'], `sum-${whole.reduce((a, b) => (a + b) % 65521, 0)}`)
    } else {
      t.is(res.body.toString(), 'part one;part two')
      t.is(res.trailers?.['x-checksum'], 'sum-42')
    }
    t.false('transfer-encoding' in res.headers)
    session.close()
  })

  test(`${iface}: 103 Early Hints arrive as an informational HEADERS frame before the response`, async (t) => {
    t.timeout(TEST_TIMEOUT_MS)
    const server = await h2cServer(iface)
    const session = await connect(server.url)
    const res = await request(session, { ':path': '/hints' })
    t.is(res.informational.length, 1)
    t.is(res.informational[0][':status'], 103)
    t.is(res.informational[0].link, '</a.css>; rel=preload; as=style')
    t.is(res.status, 200)
    t.is(res.body.toString(), 'page')
    session.close()
  })
}

test('express: routing, req.query, req.hostname and express.json() over h2c', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await h2cServer('express')
  const session = await connect(server.url)
  const res = await request(session, { ':path': '/info?x=1&y=2', 'x-test': 'express' })
  t.is(res.status, 200)
  t.like(json(res), { method: 'GET', url: '/info?x=1&y=2', httpVersion: '2.0', host: `127.0.0.1:${server.port}`, hostname: '127.0.0.1', query: { x: '1', y: '2' }, test: 'express', protocol: 'http' })
  // With its Content-Length, as browsers send it: body-parser reads no body from a request that
  // has neither Content-Length nor Transfer-Encoding, which an HTTP/2 request may be (the same
  // under node:http2).
  const payload = JSON.stringify({ a: [1, 2] })
  const post = await request(session, { ':method': 'POST', ':path': '/json', 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, { body: payload })
  t.deepEqual(json(post), { got: { a: [1, 2] } })
  const missing = await request(session, { ':path': '/nowhere' })
  t.is(missing.status, 404)
  session.close()
})

test('native: four 1 MiB uploads and four 1 MiB downloads at once on one session', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await h2cServer('native')
  const session = await connect(server.url)
  const uploads = [1, 2, 3, 4].map((k) => Buffer.from(pattern(MiB).map((b) => (b + k) & 0xff)))
  const results = await Promise.all([
    ...uploads.map((body) => request(session, { ':method': 'POST', ':path': '/echo' }, { body })),
    ...[1, 2, 3, 4].map(() => request(session, { ':path': '/download' })),
  ])
  for (const [i, body] of uploads.entries()) t.is(sha(results[i].body), sha(body), `upload ${i}`)
  for (const res of results.slice(4)) t.is(sha(res.body), sha(pattern(MiB)))
  session.close()
})

test('native: cookie fields are joined with "; " (RFC 9113 §8.2.3); each Set-Cookie goes out as its own field', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await h2cServer('native')
  const session = await connect(server.url)
  // Node's client sends an array as separate cookie fields, as browsers do over HTTP/2.
  const res = await request(session, { ':path': '/cookies', cookie: ['a=1', 'b=2', 'c=3'] })
  t.is(res.body.toString(), 'a=1; b=2; c=3')
  t.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; HttpOnly'])
  session.close()
})

test('native: a 16 MiB streamed response to a client that stops reading for a while arrives whole', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await h2cServer('native')
  const session = await connect(server.url)
  const req = session.request({ ':path': '/stream?kib=16384' }, { endStream: true })
  const chunks = []
  let trailers
  req.on('trailers', (h) => (trailers = h))
  const ended = new Promise((resolve, reject) => {
    req.on('end', resolve)
    req.on('error', reject)
  })
  // Read the first chunk, then nothing for 700 ms: the server must wait on the stream's
  // window, not fail or buffer without end; then read the rest.
  await within(new Promise((resolve) => req.once('data', (c) => (chunks.push(c), resolve()))), PATIENCE_MS, 'the first DATA frame')
  req.pause()
  await sleep(700)
  req.on('data', (c) => chunks.push(c))
  req.resume()
  await within(ended, PATIENCE_MS, 'the end of the 16 MiB stream')
  const whole = pattern(16384 * 1024)
  const body = Buffer.concat(chunks)
  t.is(body.length, whole.length)
  t.is(sha(body), sha(whole))
  t.is(trailers?.['x-checksum'], `sum-${whole.reduce((a, b) => (a + b) % 65521, 0)}`)
  t.is((await request(session, { ':path': '/info' })).status, 200)
  session.close()
})

test('fetch over h2 on TLS gets an https URL', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await serve(APPS.fetch, H2_TLS)
  const session = await connect(`https://127.0.0.1:${server.port}`, { ca })
  t.is(session.alpnProtocol, 'h2')
  const res = await request(session, { ':path': '/info?tls=1' })
  t.like(json(res), { url: `https://127.0.0.1:${server.port}/info?tls=1`, host: `127.0.0.1:${server.port}` })
  session.close()
})

// ---------------------------------------------------------------------------------------------
// 4: concurrent streams and SETTINGS

test('100 concurrent streams on one session are all answered; SETTINGS advertise the defaults', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await h2cServer('native')
  const session = await connect(server.url)
  // Each stream waits in the app until all 100 are in it at once: served one after another,
  // they would each wait out GATE_MS and report fewer.
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => request(session, { ':path': `/slow?ms=${GATE_MS}&until=100&id=c${i}` }, { timeout: GATE_MS + 2000 })))
  t.true(results.every((res, i) => res.status === 200 && json(res).id === `c${i}`))
  const most = results.map((res) => json(res).mostInFlight)
  t.true(most.every((n) => n === 100), `the 100 streams were in the app at once (most seen: ${Math.min(...most)} to ${Math.max(...most)})`)
  t.like(session.remoteSettings, { maxConcurrentStreams: 100, initialWindowSize: 65535, maxFrameSize: 16384, maxHeaderListSize: 65536 })
  session.close()
})

test('--http2-max-concurrent-streams and the other http2 settings reach the client in SETTINGS, and are kept', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const settings = ['--http2-max-concurrent-streams', '10', '--http2-initial-window-size', '131072', '--http2-max-frame-size', '32768', '--http2-max-header-list-size', '16384']
  const server = await serve(APPS.native, [...H2C, ...settings])
  const session = await connect(server.url)
  // The server's SETTINGS come first on the connection: once a response is in, they are known.
  t.is((await request(session, { ':path': '/info' })).status, 200)
  t.like(session.remoteSettings, { maxConcurrentStreams: 10, initialWindowSize: 131072, maxFrameSize: 32768, maxHeaderListSize: 16384 })
  // 30 streams at once: the client queues what the limit does not admit; all are answered,
  // 10 in the app at a time and never more (the first 10 wait there until all 10 are in).
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => request(session, { ':path': `/slow?ms=${GATE_MS}&until=10&id=s${i}` }, { timeout: GATE_MS + 2000 })))
  t.true(results.every((res, i) => res.status === 200 && json(res).id === `s${i}`))
  const most = Math.max(...results.map((res) => json(res).mostInFlight))
  t.is(most, 10, `10 streams at once, no more (saw ${most})`)
  // Bigger frames and window: a 1 MiB upload still echoes whole.
  const upload = pattern(MiB)
  t.is(sha((await request(session, { ':method': 'POST', ':path': '/echo' }, { body: upload })).body), sha(upload))
  session.close()
})

test('the http2 settings from a config file (names with underscores) reach the client in SETTINGS', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await serve(APPS.native, ['-c', appPath('http2-settings.config.mjs')])
  const session = await connect(server.url)
  t.like(json(await request(session, { ':path': '/info' })), { protocol: 'HTTP/2.0' })
  t.like(session.remoteSettings, { maxConcurrentStreams: 7, initialWindowSize: 100_000, maxFrameSize: 20_000, maxHeaderListSize: 32_768 })
  session.close()
})

// ---------------------------------------------------------------------------------------------
// 5: a stream reset mid-body

test.serial('a stream reset mid-upload fails only its own body: the other stream, the worker and the session go on', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await serve(APPS.native, H2C)
  const [pid] = server.workerPids()
  const session = await connect(server.url)
  const other = request(session, { ':path': '/slow?ms=1500&id=bystander' })
  await server.waitForLog(/slow request started bystander/)

  const upload = session.request({ ':method': 'POST', ':path': '/upload-watch?id=r1', 'content-type': 'application/octet-stream' })
  upload.on('error', () => {})
  upload.write(Buffer.alloc(32 * 1024, 1))
  await server.waitForLog(/upload-watch r1 started/)
  // Let the first bytes reach the app (it logs "receiving"), but reset whatever happens: the
  // body is unfinished either way.
  await server.waitForLog(/upload-watch r1 receiving/, 1000).catch(() => {})
  // destroy(), not close(NGHTTP2_CANCEL): close() ends the writable side first, so Node sends
  // an empty DATA frame with END_STREAM (a complete body) before the RST_STREAM; destroy()
  // sends RST_STREAM (CANCEL) alone, and the body is cut short.
  upload.destroy()
  await server.waitForLog(/upload-watch r1 closed completed=/)
  t.regex(server.log(), /upload-watch r1 error: /, 'reading the reset body rejects, as when an HTTP/1.1 client goes away mid-body')
  t.regex(server.log(), /upload-watch r1 closed completed=false/, 'the close listener is told the response was not handed over')
  t.notRegex(server.log(), /upload-watch r1 closed completed=true/)

  const res = await other
  t.is(res.status, 200)
  t.is(json(res).id, 'bystander')

  // A download reset after its first DATA frame does no harm either.
  await new Promise((resolve, reject) => {
    const req = session.request({ ':path': `/download?n=${8 * MiB}` }, { endStream: true })
    req.on('error', () => {})
    req.once('data', () => {
      req.close(http2.constants.NGHTTP2_CANCEL)
      resolve()
    })
    req.on('close', resolve)
    setTimeout(() => reject(new Error(`no DATA for the download within ${PATIENCE_MS} ms`)), PATIENCE_MS)
  })

  t.is((await request(session, { ':path': '/info' })).status, 200, 'the session still serves')
  const fresh = await connect(server.url)
  t.is((await request(fresh, { ':path': '/info' })).status, 200, 'a new session is served')
  fresh.close()
  session.close()
  t.deepEqual(server.workerPids(), [pid], 'the worker is the one that booted')
  t.is(server.bootedPids().length, 1, 'no worker was replaced')
  t.notRegex(server.log(), /Error handling request|panicked|Worker \(pid:\d+\) (exited|was sent)/)
})

// ---------------------------------------------------------------------------------------------
// 6: h2c only for trusted peers

test('h2c from a peer not in --forwarded-allow-ips is not served as HTTP/2; HTTP/1.1 still is', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await serve(APPS.native, [...H2C, '--forwarded-allow-ips', '10.9.9.9'])
  const raw = await rawRequest(server.port, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', { timeout: 5000 })
  t.true(raw === '' || /^HTTP\/1\.[01] (4\d\d|505) /.test(raw), `not an HTTP/2 answer: ${JSON.stringify(raw.slice(0, 80))}`)
  await t.throwsAsync(async () => {
    const session = await connect(server.url)
    try {
      await request(session, { ':path': '/info' }, { timeout: 5000 })
    } finally {
      session.destroy()
    }
  })
  const h1 = await get(`${server.url}/info`)
  t.is(h1.status, 200)
  t.like(await h1.json(), { protocol: 'HTTP/1.1' })
})

// ---------------------------------------------------------------------------------------------
// 7: bad settings

const refusals = [
  [['--http-protocols', 'h3'], [/http_protocols/, /h1/, /h2/]],
  [['--http-protocols', 'h1,h2'], [/http_protocols/]],
  [['--http-protocols', 'h2'], [/http_protocols/]],
  [['--http2-cleartext', 'prior-knowledge'], [/http2_cleartext|http_protocols/]],
  [['--http-protocols', 'h1,h2', '--http2-cleartext', 'upgrade'], [/--http2-cleartext|http2_cleartext/, /off, prior-knowledge/]],
  [[...H2C, '--http2-max-frame-size', '100'], [/http2_max_frame_size/, /16384/, /16777215/]],
  [[...H2C, '--http2-max-frame-size', '16777216'], [/http2_max_frame_size/, /16777215/]],
  [[...H2C, '--http2-max-concurrent-streams', 'many'], [/http2_max_concurrent_streams/]],
  [[...H2C, '--http2-initial-window-size', 'big'], [/http2_initial_window_size/]],
  [[...H2C, '--http2-max-header-list-size', '-1'], [/http2_max_header_list_size/]],
]

for (const [args, messages] of refusals) {
  test(`refused with status 2 before binding: ${args.join(' ')}`, async (t) => {
    t.timeout(TEST_TIMEOUT_MS)
    const run = await runUgn([APPS.native, '--bind', '127.0.0.1:0', ...args])
    t.is(run.code, 2, run.stderr)
    // Settings name themselves; a bad choice on the command line gets commander's message,
    // which names the flag and the allowed choices, as for every other choice setting.
    t.regex(run.stderr, /Invalid value for (http_protocols|http2_\w+)|option '--http2-[\w-]+ <\w+>' argument/)
    for (const message of messages) t.regex(run.stderr, message)
    t.notRegex(run.stderr, /Listening at/)
  })
}

test('--check-config accepts h2 over TLS and h2c with every http2 setting', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const tls = await runUgn([APPS.native, '--check-config', '--http-protocols', 'h2,h1', ...TLS_ARGS])
  t.is(tls.code, 0, tls.stderr)
  const h2c = await runUgn(
    [APPS.native, '--check-config', ...H2C, '--http2-max-concurrent-streams', '1', '--http2-initial-window-size', '1048576', '--http2-max-frame-size', '16777215', '--http2-max-header-list-size', '1024'],
  )
  t.is(h2c.code, 0, h2c.stderr)
})

// ---------------------------------------------------------------------------------------------
// 8: graceful stop

test.serial('SIGTERM sends GOAWAY and lets the stream in flight finish', async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const server = await serve(APPS.native, H2C)
  const session = await connect(server.url)
  const goaway = new Promise((resolve) => session.once('goaway', (code, lastStreamID) => resolve({ code, lastStreamID })))
  const slow = request(session, { ':path': '/slow?ms=1500&id=term' })
  await server.waitForLog(/slow request started term/)
  process.kill(server.masterPid, 'SIGTERM')
  const frame = await within(goaway, PATIENCE_MS, 'GOAWAY')
  t.is(frame.code, http2.constants.NGHTTP2_NO_ERROR)
  const res = await slow
  t.is(res.status, 200)
  t.is(json(res).id, 'term')
  t.is(await server.stop('SIGTERM'), 0)
  await waitFor(() => session.closed || session.destroyed, PATIENCE_MS, 'the session to end after GOAWAY')
})
