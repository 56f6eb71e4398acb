// Slow and hostile clients (--header-timeout, --body-timeout, idle keep-alive connections):
// none of them stops a worker from serving others, each is given up as the settings say, and
// idle connections cost little memory.
import { readFileSync } from 'node:fs'
import net from 'node:net'

import test from 'ava'

import { appPath, getOnce, killAll, openSocket, PATIENCE_MS, sleep, startUgn, waitFor } from './helpers/ugn.mjs'

const APP = appPath('slow-clients.mjs')
const servers = []

test.after.always(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGTERM').catch(() => {})))
  killAll()
})

async function serve(args) {
  const server = await startUgn(APP, ['--workers', '1', ...args])
  servers.push(server)
  return server
}

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])

/** A connection that sent one request, got its response, and stays open. */
function idleKeepAlive(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
    socket.once('data', () => resolve(socket))
    socket.once('error', reject)
    socket.setTimeout(10_000, () => reject(new Error('no response within 10 s')))
  })
}

test('1,000 idle keep-alive and 200 slowloris connections: others are served, the slowloris get 408, idle ones cost little', async (t) => {
  const server = await serve(['--keep-alive', '60', '--header-timeout', '3', '--worker-connections', '2000'])
  const [worker] = server.workerPids()
  const idle = []
  const slow = []
  try {
    const rssBefore = rssKiB(worker)
    for (let i = 0; i < 10; i++) idle.push(...(await Promise.all(Array.from({ length: 100 }, () => idleKeepAlive(server.port)))))
    const perIdle = ((rssKiB(worker) - rssBefore) * 1024) / idle.length
    t.log(`worker RSS per idle keep-alive connection: ${(perIdle / 1024).toFixed(1)} KiB`)
    t.true(perIdle < 24 * 1024, `an idle connection costs ${(perIdle / 1024).toFixed(1)} KiB of worker RSS`)

    // One byte per second each, a head that would take a minute.
    for (let i = 0; i < 200; i++) slow.push(await openSocket(server.port))
    const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(60)
    // Bytes each slowloris connection got to send before the server closed it.
    const sent = new Map(slow.map((s) => [s, 0]))
    const trickle = setInterval(() => {
      for (const s of slow) {
        if (s.closed()) continue
        s.write(head[sent.get(s)])
        sent.set(s, sent.get(s) + 1)
      }
    }, 1000)
    try {
      // Meanwhile others are served, each on a new connection.
      for (let i = 0; i < 100; i++) {
        const res = await getOnce(server.port)
        t.is(res.status, 200, `request ${i}`)
        if (res.status !== 200) break
      }
      await Promise.all(slow.map((s) => s.until((_, closed) => closed, 15_000, 'the slowloris connection to be closed')))
    } finally {
      clearInterval(trickle)
    }
    t.true(slow.every((s) => s.data().startsWith('HTTP/1.1 408 Request Timeout\r\n')), 'each slowloris got a 408')
    // --header-timeout 3 at a byte a second: about 4 bytes; 10 leaves room for timers late on a loaded machine.
    const most = Math.max(...sent.values())
    t.true(most < 10, `given up after at most ${most} bytes each`)
    t.is(idle.filter((s) => s.destroyed).length, 0, 'the idle keep-alive connections are still open')
    t.deepEqual(server.workerPids(), [worker])
  } finally {
    for (const s of idle) s.destroy()
    for (const s of slow) s.close()
  }
})

test('a request body that stalls gets 408 after --body-timeout; the app sees its read fail', async (t) => {
  // 3 s: a byte every 400 ms below must never look stalled, even with timers late on a loaded machine.
  const server = await serve(['--body-timeout', '3'])
  const s = await openSocket(server.port)
  s.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly some of it')
  await s.until((_, closed) => closed, 10_000, 'the stalled upload to be closed')
  t.true(s.data().startsWith('HTTP/1.1 408 Request Timeout\r\n'), s.data())
  await server.waitForLog(/upload failed: /)
  t.is((await getOnce(server.port, '/')).status, 200)

  // A slow body that keeps coming is read whole.
  const slow = await openSocket(server.port)
  slow.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\n')
  for (const byte of 'abcd') {
    await sleep(400)
    slow.write(byte)
  }
  await slow.until((_, closed) => closed, 10_000, 'the slow upload to be answered')
  t.regex(slow.data(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n4$/)
})

test('a client that stops reading a response is closed after --body-timeout and the app told', async (t) => {
  const server = await serve(['--body-timeout', '1'])
  const s = await openSocket(server.port)
  s.socket.pause()
  s.write('GET /endless HTTP/1.1\r\nHost: x\r\n\r\n')
  const closed = await server.waitForLog(/endless stream closed after (\d+) bytes, completed: (\w+)/, 15_000)
  t.is(closed[2], 'false')
  t.true(Number(closed[1]) < 256 * 1024 * 1024, `the app stopped producing after ${closed[1]} bytes`)
  s.close()
  t.is((await getOnce(server.port, '/')).status, 200)
  await waitFor(() => server.workerPids().length === 1, PATIENCE_MS, 'the same single worker')
})

test('--limit-request-body: a larger Content-Length gets 413 unread, a chunked body past it 413 and a failed read', async (t) => {
  const server = await serve(['--limit-request-body', '1000'])
  const declared = await openSocket(server.port)
  declared.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n')
  await declared.until((_, closed) => closed, 10_000, 'the refusal')
  t.true(declared.data().startsWith('HTTP/1.1 413 Content Too Large\r\n'), declared.data())

  const chunked = await openSocket(server.port)
  chunked.write('POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
  chunked.write(`3e8\r\n${'a'.repeat(1000)}\r\n`)
  await sleep(100)
  chunked.write('1\r\nb\r\n0\r\n\r\n')
  await chunked.until((_, closed) => closed, 10_000, 'the refusal')
  t.true(chunked.data().startsWith('HTTP/1.1 413 Content Too Large\r\n'), chunked.data())
  await server.waitForLog(/upload failed: /)

  const within = await openSocket(server.port)
  within.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${'a'.repeat(1000)}`)
  await within.until((_, closed) => closed, 10_000, 'the answer')
  t.regex(within.data(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n1000$/)
})
