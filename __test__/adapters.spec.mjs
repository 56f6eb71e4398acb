// The fetch and node adapters and --interface, against real servers: what apps see, what
// clients get, and the events and backpressure between them.

import { mkdtempSync, readFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, get, killAll, parseResponses, PATIENCE_MS, rawRequest, runUgn, sleep, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ugn-adapters-'))
let serial = 0
const noteFile = () => path.join(tmp, `notes-${++serial}.txt`)
const notes = (file) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n')
  } catch {
    return []
  }
}

let fetchServer
let nodeServer
test.before(async () => {
  fetchServer = await startUgn(appPath('adapters/fetch-object'), ['--log-level', 'debug'], { readyPath: '/inspect' })
  nodeServer = await startUgn(appPath('adapters/node-handler'), ['--log-level', 'debug'], { readyPath: '/inspect' })
})

// --- interface selection --------------------------------------------------------------------

test('auto: a default export with fetch() is served by the fetch adapter', (t) => {
  t.regex(fetchServer.log(), /through the fetch interface \(it has a fetch method\)/)
})

test('auto: a (req, res) function is served by the node adapter', (t) => {
  t.regex(nodeServer.log(), /through the node interface \(a \(req, res\) function\)/)
})

test('auto: a one-parameter function is a fetch handler', async (t) => {
  const server = await startUgn(appPath('adapters/one-arg'), [])
  t.is(await (await get(`${server.url}/abc`)).text(), 'fetch handler saw /abc')
  await server.stop()
})

test('auto: an ambiguous two-parameter function is served as native, with a warning naming --interface', async (t) => {
  const server = await startUgn(appPath('adapters/ambiguous'), [])
  t.is(await (await get(server.url)).text(), 'served as native')
  t.regex(server.log(), /\[WARNING\] .*could be a native \(environ, startResponse\) app or a Node \(req, res\) handler; serving it as native\. Pass --interface node/)
  await server.stop()
})

test('--interface node forces the node adapter on an ambiguous function', async (t) => {
  const { code, stdout } = await runUgn([appPath('adapters/ambiguous'), '--interface', 'node', '--check-config', '--bind', '127.0.0.1:0'])
  t.is(code, 0)
  t.regex(stdout, /the node interface \(chosen with --interface node\)/)
})

test('--check-config names the detected interface', async (t) => {
  const { code, stdout } = await runUgn(['examples/hono:app', '--check-config', '--bind', '127.0.0.1:0'])
  t.is(code, 0)
  t.regex(stdout, /examples\/hono:app: the fetch interface \(it has a fetch method\)/)
})

test('--interface fetch on an app without fetch(): exit 4 with the reason', async (t) => {
  const { code, stderr } = await runUgn([appPath('adapters/number'), '--interface', 'fetch', '--bind', '127.0.0.1:0'])
  t.is(code, 4)
  t.regex(stderr, /cannot be served by the fetch interface: it has no fetch\(request\) method/)
})

test('auto: a value no interface can serve: exit 4 listing what can be served', async (t) => {
  const { code, stderr } = await runUgn([appPath('adapters/number'), '--bind', '127.0.0.1:0'])
  t.is(code, 4)
  t.regex(stderr, /is number, which no interface can serve: export an \(environ, startResponse\) function, a Node \(req, res\) handler/)
})

test('--interface with an unknown value names the allowed values', async (t) => {
  const { code, stderr } = await runUgn([appPath('adapters/number'), '--interface', 'wsgi', '--bind', '127.0.0.1:0'])
  t.is(code, 2)
  t.regex(stderr, /interface/)
  t.regex(stderr, /auto, native, fetch, node/)
})

// --- fetch adapter --------------------------------------------------------------------------

test('fetch: the Request has method, full URL, headers, and is a Request', async (t) => {
  const res = await get(`${fetchServer.url}/inspect?a=1&b=%20`, { method: 'DELETE', headers: { 'x-test': 'yes' } })
  t.deepEqual(await res.json(), {
    method: 'DELETE',
    url: `http://127.0.0.1:${fetchServer.port}/inspect?a=1&b=%20`,
    isRequest: true,
    header: 'yes',
    remote: '127.0.0.1',
  })
})

test('fetch: request bodies, whole and streamed', async (t) => {
  const echo = await get(`${fetchServer.url}/echo`, { method: 'POST', body: 'héllo', headers: { 'content-type': 'text/x-test' } })
  t.is(echo.headers.get('content-type'), 'text/x-test')
  t.is(await echo.text(), 'héllo')
  const big = new Uint8Array(3 * 1024 * 1024)
  const streamed = await get(`${fetchServer.url}/stream-in`, { method: 'POST', body: new Blob([big]).stream(), duplex: 'half' })
  t.is(await streamed.text(), String(big.length))
})

test('fetch: a real Response keeps its status text and every Set-Cookie', async (t) => {
  const data = await rawRequest(fetchServer.port, 'GET /real-response HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const [res] = parseResponses(data).responses
  t.is(res.status, 203)
  t.is(res.reason, 'Fine')
  t.deepEqual(
    res.rawHeaders.filter(([name]) => name.toLowerCase() === 'set-cookie').map(([, value]) => value),
    ['a=1', 'b=2'],
  )
  t.is(res.headers['x-kind'], 'real')
  t.is(res.body, 'real body')
})

test('fetch: light responses: text gets text/plain, bytes none, 204 no body', async (t) => {
  const text = await get(`${fetchServer.url}/nowhere`)
  t.is(text.status, 404)
  t.is(text.headers.get('content-type'), 'text/plain;charset=UTF-8')
  t.is(await text.text(), 'not found')
  const bytes = await get(`${fetchServer.url}/bytes`)
  t.is(bytes.status, 202)
  t.is(bytes.headers.get('content-type'), null)
  t.is(await bytes.text(), 'hi')
  const data = await rawRequest(fetchServer.port, 'GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.regex(data, /^HTTP\/1\.1 204 No Content\r\n/)
  t.true(data.endsWith('\r\n\r\n'))
})

test('fetch: a handler that returns something else is a 500, logged', async (t) => {
  const res = await get(`${fetchServer.url}/not-a-response`)
  t.is(res.status, 500)
  await waitFor(() => /fetch\(\) returned \[object String\], not a Response/.test(fetchServer.log()))
  t.pass()
})

test('fetch: a Host that makes no URL is a 400', async (t) => {
  const data = await rawRequest(fetchServer.port, 'GET /inspect HTTP/1.1\r\nHost: exa mple\r\nConnection: close\r\n\r\n')
  t.regex(data, /^HTTP\/1\.1 400 Bad Request\r\n/)
})

test('fetch: a streamed Response is pulled only as fast as the client reads', async (t) => {
  const socket = net.connect({ host: '127.0.0.1', port: fetchServer.port })
  socket.write('GET /big-stream HTTP/1.1\r\nHost: x\r\n\r\n')
  await new Promise((resolve) => socket.once('data', resolve))
  socket.pause()
  // Held by the paused client, the count stops growing: the same on a few reads in a row.
  const counts = []
  await waitFor(
    async () => {
      counts.push(Number(await (await get(`${fetchServer.url}/pulled`)).text()))
      return counts.length >= 4 && counts.slice(-4).every((n) => n === counts.at(-1))
    },
    PATIENCE_MS,
    'the pulled count to stop growing',
    200,
  )
  const pulled = counts.at(-1)
  socket.destroy()
  // 1,600 chunks of 64 KiB (100 MiB) are on offer; a paused client holds the stream to what the
  // socket buffers and the 256 KiB high-water mark let through.
  t.true(pulled < 200, `pulled ${pulled} chunks`)
})

test('fetch: request.signal aborts when the client goes away', async (t) => {
  const file = noteFile()
  const socket = net.connect({ host: '127.0.0.1', port: fetchServer.port })
  socket.write(`GET /wait-abort?file=${encodeURIComponent(file)} HTTP/1.1\r\nHost: x\r\n\r\n`)
  await waitFor(() => notes(file).includes('started'), PATIENCE_MS, 'the handler to start')
  socket.destroy()
  await waitFor(() => notes(file).includes('aborted'), PATIENCE_MS, 'the abort event')
  t.pass()
})

// --- node adapter ---------------------------------------------------------------------------

test('node: req carries method, url, version, headers and the peer address', async (t) => {
  const res = await get(`${nodeServer.url}/inspect?q=1`, { method: 'PUT', headers: { 'x-test': 'yes' }, body: '' })
  t.deepEqual(await res.json(), {
    method: 'PUT',
    url: '/inspect?q=1',
    httpVersion: '1.1',
    remoteAddress: '127.0.0.1',
    remotePort: 'number',
    header: 'yes',
    rawHeadersPaired: true,
  })
})

test("node: 'finish' then 'close' on the response, then the request closes", async (t) => {
  const file = noteFile()
  t.is(await (await get(`${nodeServer.url}/events?file=${encodeURIComponent(file)}`)).text(), 'ok')
  await waitFor(() => notes(file).length === 3, PATIENCE_MS, 'three events')
  t.deepEqual(notes(file), ['finish', 'close true', 'req close'])
})

test('node: writeHead with a flat header array, a reason and repeated Set-Cookie', async (t) => {
  const data = await rawRequest(nodeServer.port, 'GET /write-head-array HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const [res] = parseResponses(data).responses
  t.is(res.status, 201)
  t.is(res.reason, 'Made')
  t.is(res.headers['x-a'], '1')
  t.deepEqual(
    res.rawHeaders.filter(([name]) => name.toLowerCase() === 'set-cookie').map(([, value]) => value),
    ['c=1', 'd=2'],
  )
})

test('node: flushHeaders sends the head before the body exists', async (t) => {
  const socket = net.connect({ host: '127.0.0.1', port: nodeServer.port })
  socket.setEncoding('latin1')
  socket.write('GET /flush HTTP/1.1\r\nHost: x\r\n\r\n')
  const first = await new Promise((resolve) => socket.once('data', resolve))
  t.regex(first, /^HTTP\/1\.1 200 OK\r\n[\s\S]*content-type: text\/event-stream/i)
  t.notRegex(first, /data: late/)
  let rest = first
  socket.on('data', (d) => (rest += d))
  t.is(await (await get(`${nodeServer.url}/release`)).text(), 'released')
  await waitFor(() => rest.includes('data: late'), PATIENCE_MS, 'the late event')
  socket.destroy()
})

test("node: res.write returns false on a slow client and 'drain' resumes it", async (t) => {
  const file = noteFile()
  const socket = net.connect({ host: '127.0.0.1', port: nodeServer.port })
  socket.write(`GET /drain?file=${encodeURIComponent(file)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  socket.pause()
  // The client reads nothing until the app has been told to wait.
  await waitFor(() => notes(file).includes('write returned false'), PATIENCE_MS, 'res.write to return false')
  socket.resume()
  let bytes = 0
  socket.on('data', (d) => (bytes += d.length))
  await new Promise((resolve) => socket.on('close', resolve))
  t.true(bytes > 400 * 64 * 1024)
  const line = notes(file).find((l) => l.startsWith('sent '))
  const [, sent, falses, drains] = /^sent (\d+) falses (\d+) drains (\d+)$/.exec(line)
  t.is(Number(sent), 400)
  t.true(Number(falses) > 0, 'write returned false at least once')
  t.is(Number(drains), Number(falses))
})

test("node: a client leaving mid-upload aborts the request and closes both sides", async (t) => {
  const file = noteFile()
  const socket = net.connect({ host: '127.0.0.1', port: nodeServer.port })
  socket.write(`POST /upload-abort?file=${encodeURIComponent(file)} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n`)
  socket.write('x'.repeat(1000))
  await waitFor(() => notes(file).includes('started'), PATIENCE_MS, 'the handler to start')
  socket.destroy()
  await waitFor(() => notes(file).length >= 4, PATIENCE_MS, 'abort events')
  t.deepEqual(notes(file).sort(), ['aborted', 'req close', 'res close finished=false', 'started'])
})

test('node: Expect: 100-continue is answered before the body is sent', async (t) => {
  const socket = net.connect({ host: '127.0.0.1', port: nodeServer.port })
  socket.setEncoding('latin1')
  let data = ''
  socket.on('data', (d) => (data += d))
  socket.write('POST /continue HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n')
  await waitFor(() => data.includes('100 Continue'), PATIENCE_MS, '100 Continue')
  socket.write('hello')
  await new Promise((resolve) => socket.on('close', resolve))
  t.regex(data, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n[\s\S]*got 5$/)
})

test('node: res.addTrailers sends a chunked body with its trailer section', async (t) => {
  const data = await rawRequest(nodeServer.port, 'GET /trailers-out HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.regex(data, /\r\nTrailer: X-Sum\r\n/i)
  t.regex(data, /\r\nTransfer-Encoding: chunked\r\n/i)
  t.true(data.endsWith('\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n'), JSON.stringify(data))
})

test('node: request trailers arrive in req.trailers, streamed or whole', async (t) => {
  const body = 'HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Check: yes\r\nX-Other: 2\r\n\r\n'
  const whole = parseResponses(await rawRequest(nodeServer.port, `POST /trailers-in ${body}`)).responses[0]
  const expected = { bytes: 5, trailers: { 'x-check': 'yes', 'x-other': '2' }, rawTrailers: ['X-Check', 'yes', 'X-Other', '2'] }
  t.deepEqual(JSON.parse(whole.body), expected)
  const head = `POST /trailers-in ${body.slice(0, body.indexOf('5\r\n'))}`
  const streamed = await rawRequest(nodeServer.port, '', { chunks: [head, '5\r\nhello\r\n', '0\r\nX-Check: yes\r\nX-Other: 2\r\n\r\n'], gapMs: 100 })
  t.deepEqual(JSON.parse(parseResponses(streamed).responses[0].body), expected)
})

test('node: a rejected handler promise is a 500 and the worker lives on', async (t) => {
  const pids = nodeServer.workerPids()
  const res = await get(`${nodeServer.url}/reject`)
  t.is(res.status, 500)
  await waitFor(() => /rejected on purpose/.test(nodeServer.log()))
  t.deepEqual(nodeServer.workerPids(), pids)
})

test('node: an invalid statusCode is a 500', async (t) => {
  const res = await get(`${nodeServer.url}/bad-status`)
  t.is(res.status, 500)
  await waitFor(() => /Invalid status code: 42/.test(nodeServer.log()))
  t.pass()
})
