// Every example app (native, Express, Koa, Fastify, Hono) under a real ugn server with two
// workers, each detected by --interface auto, answering the same routes (examples/README.md).

import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'

import test from 'ava'

import { get, getOnce, killAll, parseResponses, rawRequest, sleep, startUgn } from './helpers/ugn.mjs'

const FRAMEWORKS = [
  { name: 'native', interface: 'native' },
  { name: 'express', interface: 'node' },
  { name: 'koa', interface: 'node' },
  { name: 'fastify', interface: 'node' },
  { name: 'hono', interface: 'fetch' },
]

const servers = new Map()

test.before(async () => {
  for (const { name } of FRAMEWORKS) {
    servers.set(name, await startUgn(`examples/${name}:app`, ['--workers', '2', '--log-level', 'debug'], { readyPath: '/users/0' }))
  }
})

test.after.always(killAll)

function each(title, run) {
  for (const framework of FRAMEWORKS) {
    test(`${framework.name}: ${title}`, (t) => run(t, servers.get(framework.name), framework))
  }
}

each('the interface is detected from the export', (t, server, framework) => {
  t.regex(server.log(), new RegExp(`Serving examples/${framework.name}:app through the ${framework.interface} interface`))
})

each('route params and query string', async (t, server) => {
  const res = await get(`${server.url}/users/42?fields=name,email`)
  t.is(res.status, 200)
  t.regex(res.headers.get('content-type'), /^application\/json/)
  t.deepEqual(await res.json(), { id: '42', fields: 'name,email' })
})

each('JSON request body', async (t, server) => {
  const payload = { name: 'ada', tags: ['x', 'é'], nested: { n: 1 } }
  const res = await get(`${server.url}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) })
  t.is(res.status, 201)
  t.deepEqual(await res.json(), { received: payload })
})

each('urlencoded form', async (t, server) => {
  const res = await get(`${server.url}/form`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=Ada+Lovelace&city=London%20%26%20Paris',
  })
  t.is(res.status, 200)
  t.deepEqual(await res.json(), { form: { name: 'Ada Lovelace', city: 'London & Paris' } })
})

each('1 MiB upload, chunked and with Content-Length', async (t, server) => {
  const body = randomBytes(1024 * 1024)
  const sha256 = createHash('sha256').update(body).digest('hex')
  const headers = { 'content-type': 'application/octet-stream' }
  const sized = await get(`${server.url}/upload`, { method: 'POST', headers, body })
  t.deepEqual(await sized.json(), { bytes: body.length, sha256 })
  // A ReadableStream body goes out with Transfer-Encoding: chunked.
  const stream = new Blob([body]).stream()
  const chunked = await get(`${server.url}/upload`, { method: 'POST', headers, body: stream, duplex: 'half' })
  t.deepEqual(await chunked.json(), { bytes: body.length, sha256 })
})

each('streaming response arrives in chunks, chunked-encoded', async (t, server) => {
  const data = await rawRequest(server.port, 'GET /stream?count=5&delay=20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const [res] = parseResponses(data).responses
  t.is(res.status, 200)
  t.true(res.chunked, 'the response is chunked')
  t.is(res.body, 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n')
})

each('cookies: two Set-Cookie headers out, the Cookie header in', async (t, server) => {
  const res = await get(`${server.url}/cookie`, { headers: { cookie: 'a=1; b=2' } })
  t.is(res.status, 200)
  const cookies = res.headers.getSetCookie()
  t.is(cookies.length, 2)
  t.regex(cookies.find((c) => c.startsWith('session=')), /^session=abc123;.*HttpOnly/i)
  t.regex(cookies.find((c) => c.startsWith('theme=')), /^theme=dark/)
  t.deepEqual(await res.json(), { cookie: 'a=1; b=2' })
})

each('redirect', async (t, server) => {
  const res = await get(`${server.url}/redirect`, { redirect: 'manual' })
  t.is(res.status, 302)
  t.is(new URL(res.headers.get('location'), server.url).pathname, '/users/1')
})

each('a thrown error is a 500 and the worker lives on', async (t, server) => {
  const pids = server.workerPids()
  const res = await get(`${server.url}/error`)
  t.is(res.status, 500)
  await res.arrayBuffer()
  t.is((await get(`${server.url}/users/1`)).status, 200)
  t.deepEqual(server.workerPids(), pids)
})

each('unknown route is a 404', async (t, server) => {
  const res = await get(`${server.url}/no/such/route`)
  t.is(res.status, 404)
  await res.arrayBuffer()
})

each('HEAD: the GET headers and no body, keep-alive intact', async (t, server) => {
  const data = await rawRequest(server.port, 'HEAD /users/7 HTTP/1.1\r\nHost: x\r\n\r\nGET /users/8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  // After the HEAD response's head comes the GET's status line, not a body.
  const headEnd = data.indexOf('\r\n\r\n') + 4
  const head = parseResponses(data.slice(0, headEnd), { head: true }).responses[0]
  t.is(head.status, 200)
  t.regex(head.headers['content-type'], /^application\/json/)
  const [second] = parseResponses(data.slice(headEnd)).responses
  t.is(second.status, 200)
  t.deepEqual(JSON.parse(second.body), { id: '8', fields: null })
})

each('a client that disconnects mid-response does not hurt the worker', async (t, server) => {
  const pids = server.workerPids()
  const socket = net.connect({ host: '127.0.0.1', port: server.port })
  socket.write('GET /stream?count=2000&delay=2 HTTP/1.1\r\nHost: x\r\n\r\n')
  await new Promise((resolve) => socket.once('data', resolve))
  socket.destroy()
  await sleep(100)
  // Every worker still answers, and none was replaced.
  for (let i = 0; i < 6; i++) t.is((await getOnce(server.port, '/users/1')).status, 200)
  t.deepEqual(server.workerPids(), pids)
  t.notRegex(server.log(), /Exception in worker|uncaught/i)
})
