// Oversized and abusive input, over raw sockets to one worker: heads past every
// limit, chunk sizes that overflow, an endless chunked body, a client that pipelines without
// reading, and a client that promises a gigabyte and leaves. Each is refused or throttled with
// the worker's memory bounded (RSS from /proc), and afterwards the same worker serves a normal
// request. The tests run one at a time so the RSS figures are the worker's own.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'

import test from 'ava'

import { appPath, getOnce, killAll, openSocket, parseResponses, rawExchange, sleep, startUgn, waitFor } from './helpers/ugn.mjs'

const APP = appPath('abusive.mjs')
const H = 'Host: x\r\n'
const MiB = 1024 * 1024
const servers = []

test.after.always(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGINT').catch(() => {})))
  killAll()
})

async function serve(args = []) {
  const server = await startUgn(APP, ['--workers', '1', ...args])
  servers.push(server)
  const [worker] = server.workerPids()
  return { server, worker }
}

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
const mib = (kib) => (kib / 1024).toFixed(1)

/** Samples a process's RSS every `ms` until stopped; `stop()` returns the largest sample (KiB). */
function sampleRss(pid, ms = 100) {
  let max = rssKiB(pid)
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssKiB(pid))
    } catch {}
  }, ms)
  return {
    stop() {
      clearInterval(timer)
      try {
        max = Math.max(max, rssKiB(pid))
      } catch {}
      return max
    },
  }
}

/** The same single worker is alive and serves a normal request on a new connection. */
async function assertHealthy(t, server, worker) {
  const res = await getOnce(server.port, '/after')
  t.is(res.status, 200, 'a normal request afterwards')
  t.is(res.body, `/after ${worker}`, 'served by the same worker')
  t.deepEqual(server.workerPids(), [worker], 'the worker was not replaced')
  t.is(server.bootedPids().length, 1, 'no worker booted since the start')
}

/** The requests the app has seen so far ("METHOD /path"). */
async function seenByApp(server) {
  const res = await getOnce(server.port, '/seen')
  return JSON.parse(res.body)
}

test.serial('huge heads get 431 or 414 and a close, and never reach the app', async (t) => {
  const { server, worker } = await serve()
  const cases = [
    ['one header field of 1 MiB', `GET /big-field HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(MiB)}\r\n\r\n`, 431],
    ['10,000 header fields', `GET /many-fields HTTP/1.1\r\n${H}${Array.from({ length: 10_000 }, (_, i) => `X-F${i}: v\r\n`).join('')}\r\n`, 431],
    ['a request line of 100 KiB', `GET /long-line/${'a'.repeat(100 * 1024)} HTTP/1.1\r\n${H}\r\n`, 414],
    ['a request line of 100 KiB with no line end', `GET /no-end/${'a'.repeat(100 * 1024)}`, 414],
    ['1 MiB of header bytes with no line end', `GET /open-field HTTP/1.1\r\n${H}X-Open: ${'o'.repeat(MiB)}`, 431],
    // A good request and then the huge one on the same connection: the first is answered.
    ['a normal request, then a 1 MiB field', `GET /first HTTP/1.1\r\n${H}\r\nGET /second HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(MiB)}\r\n\r\n`, 431],
  ]
  const rssBefore = rssKiB(worker)
  for (const [what, bytes, status] of cases) {
    const { data, closed } = await rawExchange(server.port, bytes, { timeout: 5000 })
    t.true(closed, `${what}: the server closed the connection`)
    const { responses, rest } = parseResponses(data)
    const last = responses.at(-1)
    t.is(last?.status, status, `${what}: ${JSON.stringify(data.slice(0, 120))}`)
    t.is(last?.headers.connection, 'close', what)
    t.is(rest, '', `${what}: nothing after the refusal`)
    if (what.startsWith('a normal request')) {
      t.is(responses.length, 2, what)
      t.is(responses[0].status, 200, what)
      t.is(responses[0].body, `/first ${worker}`, what)
    } else {
      t.is(responses.length, 1, `${what}: one response`)
    }
  }
  const rssAfter = rssKiB(worker)
  t.log(`worker RSS ${mib(rssBefore)} MiB before the huge heads, ${mib(rssAfter)} MiB after`)
  t.true(rssAfter - rssBefore < 64 * 1024, `RSS grew by ${mib(rssAfter - rssBefore)} MiB`)
  const seen = await seenByApp(server)
  t.deepEqual(
    seen.filter((r) => !['GET /', 'GET /first'].includes(r)),
    [],
    'the app saw none of the refused requests',
  )
  await assertHealthy(t, server, worker)
})

test.serial('chunk sizes that overflow get 400 and a close', async (t) => {
  const { server, worker } = await serve()
  const head = `POST /discard HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`
  const cases = [
    ['FFFFFFFFFFFFFFFFFFFF (80 bits)', `${head}FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n`],
    ['10000000000000000 (2^64)', `${head}10000000000000000\r\nabc\r\n`],
    ['2^64 + 5, which wraps to 5', `${head}10000000000000005\r\nhello\r\n0\r\n\r\n`],
    ['a valid chunk, then 2^64', `${head}5\r\nhello\r\n10000000000000000\r\nabc\r\n`],
    ['2^64 with leading zeros', `${head}000000000000000010000000000000000\r\nabc\r\n`],
  ]
  for (const [what, bytes] of cases) {
    const { data, closed } = await rawExchange(server.port, bytes, { timeout: 5000 })
    t.true(closed, `${what}: closed`)
    const { responses } = parseResponses(data)
    t.is(responses.length, 1, `${what}: ${JSON.stringify(data.slice(0, 120))}`)
    t.is(responses[0]?.status, 400, what)
  }

  // The overflowing size arrives after the app has started reading the body: its read fails
  // and the client still gets 400.
  const s = await openSocket(server.port)
  try {
    s.write(`${head}5\r\nhello\r\n`)
    await waitFor(async () => (await seenByApp(server)).includes('POST /discard'), 5000, 'the app to start reading')
    const before = (server.log().match(/discard failed/g) ?? []).length
    s.write('FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n')
    await s.until((_, closed) => closed, 5000, 'the close after the bad chunk size')
    t.is(parseResponses(s.data()).responses[0]?.status, 400, s.data())
    await waitFor(() => (server.log().match(/discard failed/g) ?? []).length > before, 5000, "the app's read to fail")
  } finally {
    s.close()
  }
  await assertHealthy(t, server, worker)
})

// How much body the RSS tests stream, and how they judge the worker's RSS. What bounds it is
// not the rate: every body chunk is a Buffer whose bytes V8 counts as external memory, and V8
// starts a major GC when that has grown by 64 MiB since the last one, so the garbage never
// builds up far past that whatever the speed (docs/reliability.md, "Oversized and abusive
// input"). The sizes are counts of bytes, so a faster or slower machine streams the same body.
const STREAM_BYTES = 3 * 1024 * MiB
/** RSS is read after every this many bytes sent: 48 readings over the stream. */
const SAMPLE_EVERY = 64 * MiB
/** The most the worker's RSS may grow while streaming: twice V8's 64 MiB external-memory trigger. */
const RSS_CEILING_KIB = 128 * 1024
/** How much the last third's RSS may stand above the first third's: more is an upward trend. */
const TREND_MARGIN_KIB = 16 * 1024
/**
 * A block the server does not take within this long means it stopped reading the body. Far
 * longer than any GC pause or scheduling delay on a loaded machine.
 */
const STALL_MS = 15_000

/**
 * Streams STREAM_BYTES of body to /discard and reads the answer: the head, then blocks from
 * `nextBlock()` ({ bytes, payload }), then `tail` (holding `tailPayload` bytes of the body; null:
 * the body never ends). Returns what was measured: the worker's RSS before, its largest value
 * (sampled every 100 ms) and one reading per SAMPLE_EVERY bytes sent.
 */
async function streamBody(server, worker, head, nextBlock, tail, tailPayload = 0) {
  const socket = net.connect(server.port, '127.0.0.1')
  await once(socket, 'connect')
  let response = ''
  socket.setEncoding('latin1')
  socket.on('data', (d) => (response += d))
  socket.on('error', () => {})
  const closed = once(socket, 'close')

  const rssBefore = rssKiB(worker)
  const sampler = sampleRss(worker)
  const readings = []
  const started = Date.now()
  socket.write(head)
  let sent = 0
  let stalled = false
  while (sent < STREAM_BYTES && !socket.destroyed) {
    const { bytes, payload } = nextBlock()
    if (Math.floor((sent + payload) / SAMPLE_EVERY) > Math.floor(sent / SAMPLE_EVERY)) readings.push(rssKiB(worker))
    sent += payload
    if (!socket.write(bytes)) {
      const drained = await Promise.race([once(socket, 'drain').then(() => true), closed.then(() => false), sleep(STALL_MS).then(() => false)])
      if (!drained) {
        stalled = true
        break
      }
    }
  }
  const seconds = (Date.now() - started) / 1000
  if (!stalled && tail !== null) {
    socket.write(tail)
    sent += tailPayload
    await waitFor(() => /\r\n\r\n\d+$/.test(response), STALL_MS, 'the byte count').catch(() => {})
  }
  const rssMax = sampler.stop()
  socket.destroy()
  return { sent, stalled, seconds, response, rssBefore, rssMax, rssAfter: rssKiB(worker), readings }
}

/**
 * Logs the figures of a streamed body and checks it was all taken with RSS bounded: below the
 * ceiling, and no upward trend (the last third of the readings stands no higher than the first).
 */
function checkStreamed(t, r) {
  t.log(
    `streamed ${mib(r.sent / 1024)} MiB in ${r.seconds.toFixed(1)} s${r.stalled ? ' (then the server stopped reading)' : ''}; ` +
      `worker RSS ${mib(r.rssBefore)} MiB before, ${mib(r.rssMax)} MiB at most during, ${mib(r.rssAfter)} MiB after; ` +
      `every ${SAMPLE_EVERY / MiB} MiB: ${r.readings.map(mib).join(', ')} MiB`,
  )
  t.false(r.stalled, `the server stopped reading the body after ${r.sent} bytes`)
  t.true(r.sent >= STREAM_BYTES, `sent ${r.sent} bytes`)
  t.true(r.rssMax - r.rssBefore < RSS_CEILING_KIB, `RSS grew by ${mib(r.rssMax - r.rssBefore)} MiB while the body streamed`)
  const third = Math.floor(r.readings.length / 3)
  const first = Math.max(...r.readings.slice(0, third))
  const last = Math.max(...r.readings.slice(-third))
  t.true(last <= first + TREND_MARGIN_KIB, `RSS rose from ${mib(first)} MiB in the first third of the body to ${mib(last)} MiB in the last`)
}

function checkStream(t, r) {
  checkStreamed(t, r)
  const res = parseResponses(r.response).responses[0]
  t.is(res?.status, 200, JSON.stringify(r.response.slice(0, 200)))
  t.is(res?.body, String(r.sent), 'the app read every byte')
}

const CHUNK = 64 * 1024
const STREAM_HEAD = `POST /discard HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`

test.serial('an endless Content-Length body read and discarded by the app: worker RSS stays bounded', async (t) => {
  const { server, worker } = await serve(['--body-timeout', '5'])
  const block = Buffer.alloc(16 * CHUNK, 'z')
  const r = await streamBody(server, worker, `POST /discard HTTP/1.1\r\n${H}Content-Length: 1000000000000\r\nConnection: close\r\n\r\n`, () => ({ bytes: block, payload: block.length }), null)
  // The body never ends: the app is still reading when the client leaves, and is told.
  const left = Date.now()
  checkStreamed(t, r)
  // At once, or when --body-timeout runs out (5 s): far sooner than this.
  await server.waitForLog(/discard failed after \d+ bytes/, 30_000)
  // Not asserted: now and then, more often on a loaded machine, the app is told only when
  // --body-timeout runs out instead of within milliseconds.
  t.log(`the app was told the client left after ${Date.now() - left} ms`)
  await assertHealthy(t, server, worker)
})

// Every write below ends inside a chunk-size line, or between the CR and LF after a chunk's
// data: the decoder must wait for the next read there (it once spun the worker instead).
test.serial('an endless chunked body read and discarded by the app: worker RSS stays bounded, chunk-size lines split across reads', async (t) => {
  const { server, worker } = await serve()
  try {
    // Every write ends inside a chunk-size line: "1000" now, "0\r\n" with the next block.
    const data = 'z'.repeat(CHUNK)
    const block = Buffer.from(Array.from({ length: 16 }, (_, i) => `${i === 0 ? '' : '1000'}0\r\n${data}\r\n`).join('') + '1000', 'latin1')
    let first = true
    const r = await streamBody(
      server,
      worker,
      STREAM_HEAD,
      () => {
        const bytes = first ? Buffer.concat([Buffer.from('1000'), block]) : block
        first = false
        return { bytes, payload: 16 * CHUNK }
      },
      // The pending "1000" becomes one last full chunk, then the end.
      `0\r\n${data}\r\n0\r\n\r\n`,
      CHUNK,
    )
    checkStream(t, r)
    await assertHealthy(t, server, worker)
  } finally {
    await server.stop('SIGKILL').catch(() => {})
  }
})

test.serial('a chunked body whose chunk-size line or data CRLF is split across reads is still read', async (t) => {
  const { server, worker } = await serve()
  try {
    const splits = {
      'a chunk-size line split after its first digit': ['5\r\nhello\r\n', '1', '0\r\n0123456789abcdef\r\n0\r\n\r\n'],
      "a chunk's CR and LF in different reads": ['5\r\nhello\r', '\n0\r\n\r\n'],
    }
    for (const [what, parts] of Object.entries(splits)) {
      const s = await openSocket(server.port)
      try {
        s.write(`POST /discard HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`)
        for (const part of parts) {
          await sleep(300)
          s.write(part)
        }
        const done = await s.until((_, closed) => closed, 3000, 'the answer').then(
          () => true,
          () => false,
        )
        t.true(done, `${what}: no answer within 3 s`)
        if (!done) break
        t.is(parseResponses(s.data()).responses[0]?.body, what.startsWith('a chunk-size') ? '21' : '5', what)
      } finally {
        s.close()
      }
    }
    await assertHealthy(t, server, worker)
  } finally {
    await server.stop('SIGKILL').catch(() => {})
  }
})

/** Bytes the server has not read from its end of the connection from clientPort (/proc/net/tcp). */
function serverReceiveQueue(serverPort, clientPort) {
  const hex = (n) => n.toString(16).toUpperCase().padStart(4, '0')
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 5) continue
    if (f[1].endsWith(`:${hex(serverPort)}`) && f[2].endsWith(`:${hex(clientPort)}`)) return parseInt(f[4].split(':')[1], 16)
  }
  return 0
}

/** Reads pipelined responses as they come, checking each against the next expected path. */
function responseReader(socket, pathOf) {
  let pending = Buffer.alloc(0)
  let count = 0
  let wrong
  const waiters = new Set()
  socket.on('data', (d) => {
    pending = pending.length ? Buffer.concat([pending, d]) : d
    for (;;) {
      const end = pending.indexOf('\r\n\r\n')
      if (end === -1) break
      const head = pending.toString('latin1', 0, end)
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1])
      if (pending.length < end + 4 + length) break
      const body = pending.toString('latin1', end + 4, end + 4 + length)
      const expected = `${pathOf(count)} `
      if (!head.startsWith('HTTP/1.1 200 ') || !body.startsWith(expected)) {
        wrong ??= `response ${count}: ${JSON.stringify(head.slice(0, 40))} ${JSON.stringify(body.slice(0, 40))}, expected ${expected}`
      }
      count++
      pending = pending.subarray(end + 4 + length)
    }
    for (const w of waiters) w()
  })
  return {
    count: () => count,
    wrong: () => wrong,
    async until(n, timeout) {
      let check
      try {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`got ${count} of ${n} responses within ${timeout} ms`)), timeout)
          check = () => {
            if (count >= n || wrong) {
              clearTimeout(timer)
              resolve()
            }
          }
          waiters.add(check)
          check()
        })
      } finally {
        waiters.delete(check)
      }
    },
  }
}

test.serial('100,000 pipelined GETs from a client that does not read: the server stops reading it, serves others, then answers all in order', async (t) => {
  const { server, worker } = await serve()
  const N = 100_000
  // Small requests (about 300 bytes: 30 MB in all, far more than the kernel's buffers hold) and
  // 1 KiB responses: buffering them all would take over 100 MiB.
  const pathOf = (i) => `/p/${i}`
  const filler = `X-Filler: ${'f'.repeat(256)}\r\n`
  const socket = net.connect(server.port, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.pause()

  const rssBefore = rssKiB(worker)
  const sampler = sampleRss(worker)
  // All written at once, in batches of 1,000 requests; a batch's callback says the kernel took it.
  const BATCH = 1000
  let taken = 0
  let total = 0
  for (let from = 0; from < N; from += BATCH) {
    const batch = Buffer.from(Array.from({ length: BATCH }, (_, i) => `GET ${pathOf(from + i)}?pad=1024 HTTP/1.1\r\n${H}${filler}\r\n`).join(''), 'latin1')
    total += batch.length
    socket.write(batch, () => (taken += batch.length))
  }
  // Wait until the server has stopped taking bytes: no batch taken for a second.
  let last = -1
  let stable = 0
  await waitFor(
    () => {
      stable = taken === last ? stable + 1 : 0
      last = taken
      return stable >= 5 || taken === total
    },
    15_000,
    'the server to stop reading',
    200,
  )
  const queued = serverReceiveQueue(server.port, socket.localPort)
  const unread = total - taken + queued
  t.log(`the server stopped reading with ${unread} of ${total} request bytes unread (${queued} in its socket, ${total - taken} still in the client)`)
  t.true(unread > total / 2, 'the server stopped reading the client long before taking every request')

  // Others are served meanwhile.
  for (let i = 0; i < 20; i++) {
    const res = await getOnce(server.port, `/other/${i}`)
    t.is(res.status, 200, `another client's request ${i}`)
  }
  await sleep(500)
  const rssStalled = rssKiB(worker)

  // Now the client reads: every response arrives, in order.
  const reader = responseReader(socket, pathOf)
  const started = Date.now()
  socket.resume()
  await reader.until(N, 45_000)
  const seconds = (Date.now() - started) / 1000
  const rssMax = sampler.stop()
  socket.destroy()
  t.log(
    `worker RSS ${mib(rssBefore)} MiB before, ${mib(rssStalled)} MiB while stalled, ${mib(rssMax)} MiB at most; ` +
      `${reader.count()} responses read in ${seconds.toFixed(1)} s once the client read`,
  )
  t.is(reader.wrong(), undefined)
  t.is(reader.count(), N)
  t.true(rssMax - rssBefore < 64 * 1024, `RSS grew by ${mib(rssMax - rssBefore)} MiB`)
  await assertHealthy(t, server, worker)
})

test.serial('a client that announces a 1 GB body and closes: the app is told, the worker is fine', async (t) => {
  const { server, worker } = await serve(['--body-timeout', '5'])
  const rssBefore = rssKiB(worker)
  const head = `POST /discard HTTP/1.1\r\n${H}Content-Length: 1000000000\r\n\r\n`

  // The head and 1 MiB of the body, then a close.
  const a = await openSocket(server.port)
  a.write(head + 'y'.repeat(MiB))
  await waitFor(async () => (await seenByApp(server)).includes('POST /discard'), 5000, 'the app to start reading')
  a.close()
  await server.waitForLog(/discard failed after \d+ bytes/, 9000)

  // The head alone, then a half-close (the client sends nothing more but still listens).
  const b = await openSocket(server.port)
  b.write(head)
  await sleep(200)
  b.socket.end()
  await b.until((_, closed) => closed, 5000, 'the server to close the half-closed connection')
  const answer = b.data()
  t.true(answer === '' || /^HTTP\/1\.1 400 /.test(answer), `after a half-close: ${JSON.stringify(answer.slice(0, 60))}`)

  // The head alone, then a reset.
  const c = await openSocket(server.port)
  c.write(head)
  await sleep(200)
  c.socket.resetAndDestroy()

  await sleep(300)
  const rssAfter = rssKiB(worker)
  t.log(`worker RSS ${mib(rssBefore)} MiB before, ${mib(rssAfter)} MiB after`)
  t.true(rssAfter - rssBefore < 64 * 1024, `RSS grew by ${mib(rssAfter - rssBefore)} MiB`)
  await assertHealthy(t, server, worker)
})
