// WebSockets through the engine's upgraded connections: ws and socket.io on an exported
// http.Server, run unmodified, with real clients.
import test from 'ava'
import { io as ioClient } from 'socket.io-client'
import WebSocket from 'ws'

import { appPath, getOnce, killAll, openSocket, PATIENCE_MS, startUgn, waitFor } from './helpers/ugn.mjs'

const servers = []

test.after.always(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGTERM').catch(() => {})))
  killAll()
})

async function serve(app, args = []) {
  const server = await startUgn(app, ['--workers', '1', ...args])
  servers.push(server)
  return server
}

function open(url, protocols = [], options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

/** The next `n` messages, as Buffers or strings. */
function messages(ws, n) {
  return new Promise((resolve, reject) => {
    const got = []
    const onMessage = (data, isBinary) => {
      got.push(isBinary ? data : data.toString())
      if (got.length === n) {
        ws.off('message', onMessage)
        resolve(got)
      }
    }
    ws.on('message', onMessage)
    ws.once('close', () => reject(new Error(`closed after ${got.length} of ${n} messages`)))
  })
}

const ECHO = `${appPath('ws/echo.mjs')}:server`

test('ws: 10,000 messages and a 1 MiB one echo back with permessage-deflate, beside plain HTTP', async (t) => {
  const server = await serve(ECHO)
  const ws = await open(`ws://127.0.0.1:${server.port}/chat`, [], { perMessageDeflate: true })
  t.regex(ws.extensions, /permessage-deflate/)
  const replies = messages(ws, 10_000)
  for (let i = 0; i < 10_000; i++) ws.send(`message ${i}`)
  const got = await replies
  t.true(got.every((m, i) => m === `message ${i}`))

  const big = Buffer.alloc(1 << 20)
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff
  const bigReply = messages(ws, 1)
  ws.send(big)
  t.true(Buffer.from((await bigReply)[0]).equals(big))

  t.is((await getOnce(server.port, '/')).body, `http ${server.workerPids()[0]}`)
  ws.close(1000)
})

test('ws: ping and pong, close codes both ways, and the socket the handler sees', async (t) => {
  const server = await serve(ECHO)
  const ws = await open(`ws://127.0.0.1:${server.port}/room?x=1`, 'chat.v1')
  t.is(ws.protocol, 'chat.v1')
  const pong = new Promise((resolve) => ws.once('pong', (data) => resolve(data.toString())))
  ws.ping('are you there')
  t.is(await pong, 'are you there')
  const who = messages(ws, 1)
  ws.send('who')
  t.is((await who)[0], '127.0.0.1 /room?x=1 chat.v1')

  ws.close(4000, 'client bye')
  await server.waitForLog(/ws closed 4000 client bye/)

  const other = await open(`ws://127.0.0.1:${server.port}/`)
  const closed = new Promise((resolve) => other.once('close', (code, reason) => resolve(`${code} ${reason}`)))
  other.send('close-me')
  t.is(await closed, '4001 server bye')
})

test('ws: a client that vanishes mid-message leaves the worker serving', async (t) => {
  const server = await serve(ECHO)
  const [pid] = server.workerPids()
  const raw = await openSocket(server.port)
  raw.write(
    'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  )
  await raw.until((data) => data.includes('\r\n\r\n'), PATIENCE_MS, 'the 101')
  t.regex(raw.data(), /^HTTP\/1\.1 101 Switching Protocols\r\n/)
  t.regex(raw.data(), /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i)
  // A masked text frame announcing 1,000 bytes, of which 10 arrive.
  raw.write('\x81\xfe\x03\xe8\x01\x02\x03\x04' + 'abcdefghij')
  raw.close()
  await server.waitForLog(/ws closed 1006/)
  const ws = await open(`ws://127.0.0.1:${server.port}/`)
  const reply = messages(ws, 1)
  ws.send('pid')
  t.is((await reply)[0], `pid ${pid}`)
  t.deepEqual(server.workerPids(), [pid])
  ws.close()
})

test('socket.io: clients join a room and get its broadcasts', async (t) => {
  const server = await serve(`${appPath('ws/socketio.mjs')}:server`)
  const url = `http://127.0.0.1:${server.port}`
  const clients = [ioClient(url, { forceNew: true }), ioClient(url, { forceNew: true }), ioClient(url, { forceNew: true })]
  try {
    await Promise.all(clients.map((c) => new Promise((resolve) => c.once('connect', resolve))))
    // Polling first, then the upgrade to a WebSocket.
    await waitFor(() => clients.every((c) => c.io.engine.transport.name === 'websocket'), PATIENCE_MS, 'the upgrade to websocket')
    const [a, b, outsider] = clients
    t.is(await a.emitWithAck('join', 'lobby'), 'joined lobby')
    t.is(await b.emitWithAck('join', 'lobby'), 'joined lobby')
    const heard = Promise.all([a, b].map((c) => new Promise((resolve) => c.once('heard', resolve))))
    let outsiderHeard = false
    outsider.on('heard', () => (outsiderHeard = true))
    a.emit('shout', 'lobby', 'hello room')
    for (const message of await heard) t.deepEqual(message, { from: a.id, text: 'hello room' })
    t.false(outsiderHeard)
  } finally {
    for (const c of clients) c.close()
  }
})

/** --graceful-timeout of the tests below. A worker closes its WebSockets a second before it runs
 * out (src/worker.ts), so not before CLOSE_EARLIEST_MS after the signal: 500 ms are left for the
 * worker's timer, which counts from its event loop's idea of now, read once per turn. */
const GRACEFUL_S = 3
const CLOSE_EARLIEST_MS = (GRACEFUL_S - 1) * 1000 - 500

test('a graceful stop gives WebSockets --graceful-timeout, then closes them with 1001', async (t) => {
  const server = await startUgn(ECHO, ['--workers', '1', '--graceful-timeout', String(GRACEFUL_S)])
  const ws = await open(`ws://127.0.0.1:${server.port}/`)
  const closed = new Promise((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })))
  const stopAt = Date.now()
  const exitCode = server.stop('SIGTERM')
  // Still open and answering while the worker drains.
  await server.waitForLog(/Handling signal: term/)
  const reply = messages(ws, 1)
  ws.send('still here')
  t.is((await reply)[0], 'still here')
  const { code, at } = await closed
  t.is(code, 1001)
  t.true(at - stopAt >= CLOSE_EARLIEST_MS, `closed ${at - stopAt} ms after TERM`)
  t.is(await exitCode, 0)
  t.notRegex(server.log(), /was sent SIGKILL/)
})

test('a HUP gives WebSockets on the old worker --graceful-timeout, then closes them with 1001; new ones reach the new worker', async (t) => {
  const server = await serve(ECHO, ['--graceful-timeout', String(GRACEFUL_S)])
  const url = `ws://127.0.0.1:${server.port}/`
  const ws = await open(url)
  const first = messages(ws, 1)
  ws.send('pid')
  const [oldPid] = server.workerPids()
  t.is((await first)[0], `pid ${oldPid}`)
  const closed = new Promise((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })))
  const hupAt = Date.now()
  process.kill(server.masterPid, 'SIGHUP')
  await waitFor(() => server.workerPids().some((pid) => pid !== oldPid), PATIENCE_MS, 'a new worker')
  // The old worker still serves its WebSocket while it drains.
  const reply = messages(ws, 1)
  ws.send('still here')
  t.is((await reply)[0], 'still here')
  const { code, at } = await closed
  t.is(code, 1001)
  t.true(at - hupAt >= CLOSE_EARLIEST_MS, `closed ${at - hupAt} ms after HUP`)
  const fresh = await open(url)
  const answer = messages(fresh, 1)
  fresh.send('pid')
  const [line] = await answer
  t.not(line, `pid ${oldPid}`)
  fresh.close()
  await waitFor(() => !server.workerPids().includes(oldPid), PATIENCE_MS, 'the old worker to exit')
  t.notRegex(server.log(), /was sent SIGKILL/)
})
