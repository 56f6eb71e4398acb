// The access log on real servers: lines as Gunicorn writes them for the same requests, every
// atom, custom formats, stdout, reopening after logrotate (USR1), nothing lost on a graceful
// stop, and the bytes of streamed, bodiless, failed and cut-short responses.
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, getOnce, killAll, PATIENCE_MS, rawRequest, runUgn, sleep, startUgn, unixGet, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const APP = appPath('access.mjs')

const dirs = []
test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function tempFile(name = 'access.log') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-access-'))
  dirs.push(dir)
  return path.join(dir, name)
}

function lines(file) {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split('\n').filter(Boolean)
}

/** Waits (bounded) until `file` holds at least `count` lines, and returns them. */
async function waitForLines(file, count, timeout = 5000) {
  await waitFor(() => lines(file).length >= count, timeout, `${count} line(s) in ${file}`)
  return lines(file)
}

/** One request on its own connection, the response read to the end. */
const send = (port, head) => rawRequest(port, head)

const TIME = /\[(\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]/

/** The line with its date replaced by [TIME], after checking the date is about now. */
function withoutTime(t, line) {
  const m = TIME.exec(line)
  t.truthy(m, `no date in ${line}`)
  const when = Date.parse(m[1].replace(/^(\d+)\/(\w+)\/(\d+):/, '$1 $2 $3 '))
  t.true(Math.abs(Date.now() - when) < 10_000, `the date ${m[1]} is not now`)
  return line.replace(TIME, '[TIME]')
}

// The requests below, sent to Gunicorn 27.0.1 (sync worker, --access-logfile, default format)
// serving a Python app that answers like __test__/apps/access.mjs, gave these lines (dates
// replaced by [TIME]). /boom is not here: Gunicorn logs its 500 with 0 bytes, while ugn counts
// the error body it really sends (see the test below).
const FULL_REQUEST =
  'GET /p%20q/x?a=1&b=%22 HTTP/1.1\r\nHost: x\r\nReferer: http://ref/"x"\r\nUser-Agent: test "agent"\r\n' +
  'Authorization: Basic YWxpY2U6c2VjcmV0\r\nAccept: text/*\r\nConnection: close\r\n\r\n'
const GUNICORN = [
  [FULL_REQUEST, '127.0.0.1 - alice [TIME] "GET /p%20q/x?a=1&b=%22 HTTP/1.1" 200 6 "http://ref/\\"x\\"" "test \\"agent\\""'],
  ['HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '127.0.0.1 - - [TIME] "HEAD / HTTP/1.1" 200 0 "-" "-"'],
  ['GET /304 HTTP/1.0\r\n\r\n', '127.0.0.1 - - [TIME] "GET /304 HTTP/1.0" 304 0 "-" "-"'],
  ['GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '127.0.0.1 - - [TIME] "GET /stream HTTP/1.1" 200 15 "-" "-"'],
  ['GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!!\r\nConnection: close\r\n\r\n', '127.0.0.1 - - [TIME] "GET / HTTP/1.1" 200 6 "-" "-"'],
  ['GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic OnB3\r\nConnection: close\r\n\r\n', '127.0.0.1 - - [TIME] "GET / HTTP/1.1" 200 6 "-" "-"'],
]

test('the default format gives the line Gunicorn gives for the same request', async (t) => {
  const file = tempFile()
  const ugn = await startUgn(APP, ['--access-logfile', file], { ready: false })
  for (const [request] of GUNICORN) await send(ugn.port, request)
  const logged = await waitForLines(file, GUNICORN.length)
  t.deepEqual(
    logged.map((line) => withoutTime(t, line)),
    GUNICORN.map(([, line]) => line),
  )
  t.is(await ugn.stop(), 0)
})

// Every atom, separated by '|'; Gunicorn's line for FULL_REQUEST with this format was
// 127.0.0.1|-|alice|[TIME]|GET /p%20q/x?a=1&b=%22 HTTP/1.1|GET|/p q/x|a=1&b=%22|HTTP/1.1|200|6|6|
// http://ref/\"x\"|test \"agent\"|0|0|567|0.000567|<8534>|abc \"q\"|-|text/*|text/plain|127.0.0.1|-|-|6%
const ATOMS =
  '%(h)s|%(l)s|%(u)s|%(t)s|%(r)s|%(m)s|%(U)s|%(q)s|%(H)s|%(s)s|%(B)s|%(b)s|%(f)s|%(a)s|%(T)s|%(M)s|%(D)s|%(L)s|%(p)s|' +
  '%({x-trace}o)s|%({X-Missing}o)s|%({Accept}i)s|%({content-type}o)s|%({REMOTE_ADDR}e)s|%({nope}e)s|%(zz)s|%(B)d%%'

test('every atom, as Gunicorn computes it', async (t) => {
  const file = tempFile()
  const ugn = await startUgn(APP, ['--access-logfile', file, '--access-logformat', ATOMS], { ready: false })
  await send(ugn.port, FULL_REQUEST)
  // The server's measure of a request lies within the client's: from before it was sent to after
  // its answer arrived.
  const slowSent = performance.now()
  await send(ugn.port, 'GET /slow?ms=150 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const slowClientMicros = (performance.now() - slowSent) * 1000
  const [full, slow] = await waitForLines(file, 2)
  const workerPid = ugn.workerPids()[0]
  const f = withoutTime(t, full).split('|')
  const timing = f.splice(14, 5)
  t.deepEqual(f, [
    '127.0.0.1', '-', 'alice', '[TIME]', 'GET /p%20q/x?a=1&b=%22 HTTP/1.1', 'GET', '/p q/x', 'a=1&b=%22', 'HTTP/1.1', '200', '6', '6',
    'http://ref/\\"x\\"', 'test \\"agent\\"',
    'abc \\"q\\"', '-', 'text/*', 'text/plain', '127.0.0.1', '-', '-', '6%',
  ])
  t.is(timing[4], `<${workerPid}>`)

  // T, M, D and L say the same duration in four units.
  const [T, M, D, L] = withoutTime(t, slow).split('|').slice(14, 18)
  const micros = Number(D)
  t.true(micros >= 150_000 && micros <= slowClientMicros, `D=${D}, the client waited ${Math.round(slowClientMicros)} µs`)
  t.is(Number(M), Math.floor(micros / 1000))
  t.is(Number(T), Math.floor(micros / 1e6))
  t.is(L, `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`)
  t.is(await ugn.stop(), 0)
})

test('a custom format; a malformed one is refused before the server starts', async (t) => {
  const file = tempFile()
  const format = '%(m)s %(U)s?%(q)s -> %(s)s %({content-type}o)s %({HOST}i)s %({ugn.url_scheme}e)s 100%%'
  const ugn = await startUgn(APP, ['--access-logfile', file, '--access-logformat', format], { ready: false })
  await send(ugn.port, 'POST /a?b=c HTTP/1.1\r\nHost: example.org\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi')
  t.deepEqual(await waitForLines(file, 1), ['POST /a?b=c -> 200 text/plain example.org http 100%'])
  t.is(await ugn.stop(), 0)

  for (const bad of ['%(h)s %s', '100%', '%(h)x', '%(h']) {
    const run = await runUgn([APP, '--bind', '127.0.0.1:0', '--access-logformat', bad])
    t.is(run.code, 2, bad)
    t.regex(run.stderr, /Invalid value for access_log_format: "%" at offset \d+ starts no atom/, bad)
  }
})

test("'-' writes to stdout, and no access log is written by default", async (t) => {
  const ugn = await startUgn(APP, ['--access-logfile', '-'], { ready: false })
  await send(ugn.port, 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await waitFor(() => ugn.stdout().includes('"GET /x HTTP/1.1" 200 6'), PATIENCE_MS, 'the line on stdout')
  t.regex(ugn.stdout(), /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/x HTTP\/1\.1" 200 6 "-" "-"\n$/)
  t.notRegex(ugn.log(), /GET \/x/)
  t.is(await ugn.stop(), 0)

  const quiet = await startUgn(APP, [], { ready: false })
  await send(quiet.port, 'GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await sleep(500)
  t.is(await quiet.stop(), 0)
  t.is(quiet.stdout(), '')
  t.notRegex(quiet.log(), /GET \/x/)
})

test("a Unix socket has no peer address: h is '-', so the line still starts with a field", async (t) => {
  const file = tempFile()
  const sock = path.join(path.dirname(file), 'ugn.sock')
  const ugn = await startUgn(APP, ['--bind', `unix:${sock}`, '--access-logfile', file], { bind: false })
  await waitFor(async () => (await unixGet(sock, '/u').catch(() => ({}))).status === 200, PATIENCE_MS, 'an answer on the socket')
  const [line] = await waitForLines(file, 1)
  t.regex(line, /^- - - \[[^\]]+\] "GET \/u HTTP\/1\.1" 200 6 "-" "-"$/)
  t.is(await ugn.stop(), 0)
})

test('USR1 after logrotate moved the file: every worker writes new lines to a new file', async (t) => {
  const file = tempFile()
  const ugn = await startUgn(APP, ['--access-logfile', file, '--access-logformat', '%(p)s %(U)s', '-w', '2'], { ready: false })
  for (let i = 0; i < 4; i++) await send(ugn.port, `GET /before/${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  await waitForLines(file, 4)
  renameSync(file, `${file}.1`)
  process.kill(ugn.masterPid, 'SIGUSR1')
  await ugn.waitForLog(/Handling signal: usr1/)
  await waitFor(() => existsSync(file), PATIENCE_MS, 'the reopened file')
  // Both workers reopen on the same signal, each in its own time: wait until each holds the new file.
  const holds = (pid, target) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === target)
    } catch {
      return false
    }
  }
  await waitFor(() => ugn.workerPids().every((pid) => holds(pid, file)), PATIENCE_MS, 'both workers to reopen the file')
  // New connections until both workers have answered some.
  let sent = 0
  await waitFor(
    async () => {
      await send(ugn.port, `GET /after/${sent++} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      return new Set(lines(file).map((line) => line.split(' ')[0])).size === 2
    },
    PATIENCE_MS,
    'lines from both workers in the new file',
    0,
  )
  // Each worker writes its own batches, so lines of the two interleave by batch, not by time.
  const paths = (list) => list.map((line) => line.split(' ')[1]).sort()
  await waitForLines(file, sent)
  t.deepEqual(paths(lines(file)), Array.from({ length: sent }, (_, i) => `/after/${i}`).sort())
  t.deepEqual(paths(lines(`${file}.1`)), Array.from({ length: 4 }, (_, i) => `/before/${i}`))
  t.is(await ugn.stop(), 0)
})

test('a graceful stop (TERM) writes every buffered line, including a request that ends during the stop', async (t) => {
  const file = tempFile()
  const ugn = await startUgn(APP, ['--access-logfile', file], { ready: false })
  const slow = send(ugn.port, 'GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const count = 200
  await Promise.all(Array.from({ length: count }, (_, i) => send(ugn.port, `GET /n/${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)))
  // Well within the 200 ms flush delay: these lines are still in the worker's memory.
  const stopped = ugn.stop('SIGTERM')
  t.regex(await slow, /^HTTP\/1\.1 200 /)
  t.is(await stopped, 0)
  const logged = lines(file)
  t.is(logged.length, count + 1)
  t.is(new Set(logged.map((line) => /"GET (\S+)/.exec(line)[1])).size, count + 1)
  t.truthy(logged.find((line) => line.includes('"GET /slow?ms=1500 HTTP/1.1" 200 6')))
})

test('a worker that exits abruptly still writes the lines it buffered', async (t) => {
  const file = tempFile()
  const ugn = await startUgn(APP, ['--access-logfile', file], { ready: false })
  const [first] = ugn.workerPids()
  for (let i = 0; i < 5; i++) await send(ugn.port, `GET /n/${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  await send(ugn.port, 'GET /exit HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await waitFor(() => ugn.workerPids().some((pid) => pid !== first), PATIENCE_MS, 'a replacement worker')
  t.deepEqual(
    lines(file).map((line) => /"GET (\S+)/.exec(line)[1]),
    ['/n/0', '/n/1', '/n/2', '/n/3', '/n/4', '/exit'],
  )
  t.is(await ugn.stop(), 0)
})

test('a line longer than the buffers lines are encoded into keeps its place', async (t) => {
  const file = tempFile()
  const agent = 'x'.repeat(8000)
  const ugn = await startUgn(APP, ['--access-logfile', file, '--access-logformat', '%(U)s %(a)s%(a)s%(a)s'], { ready: false })
  await send(ugn.port, 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await send(ugn.port, `GET /b HTTP/1.1\r\nHost: x\r\nUser-Agent: ${agent}\r\nConnection: close\r\n\r\n`)
  await send(ugn.port, 'GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.deepEqual(await waitForLines(file, 3), ['/a ---', `/b ${agent.repeat(3)}`, '/c ---'])
  t.is(await ugn.stop(), 0)
})

test('bytes: streamed bodies count what was sent, HEAD and 304 send none, a throwing app logs its 500', async (t) => {
  const file = tempFile()
  const ugn = await startUgn(APP, ['--access-logfile', file], { ready: false })
  await send(ugn.port, 'GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await send(ugn.port, 'HEAD /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await send(ugn.port, 'GET /304 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const boom = await send(ugn.port, 'GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.regex(boom, /^HTTP\/1\.1 500 [^]*\r\n\r\nInternal Server Error\n$/)
  const logged = await waitForLines(file, 4)
  t.deepEqual(
    logged.map((line) => line.replace(/^.*?\] /, '')),
    [
      '"GET /stream HTTP/1.1" 200 15 "-" "-"',
      '"HEAD /stream HTTP/1.1" 200 0 "-" "-"',
      '"GET /304 HTTP/1.1" 304 0 "-" "-"',
      '"GET /boom HTTP/1.1" 500 22 "-" "-"',
    ],
  )
  t.is(await ugn.stop(), 0)
})

test('a client that leaves during a streamed response: the line counts the bytes sent before it left', async (t) => {
  const file = tempFile()
  const ugn = await startUgn(APP, ['--access-logfile', file, '--access-logformat', '%(r)s %(s)s %(b)s %(B)s'], { ready: false })
  const socket = net.connect(ugn.port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write('GET /drip?chunks=50 HTTP/1.1\r\nHost: x\r\n\r\n')
  let received = ''
  socket.setEncoding('latin1')
  await new Promise((resolve) =>
    socket.on('data', (d) => {
      received += d
      if (received.includes('chunk 2\n')) resolve()
    }),
  )
  socket.destroy()
  const [line] = await waitForLines(file, 1)
  const m = /^GET \/drip\?chunks=50 HTTP\/1\.1 200 (\d+) (\d+)$/.exec(line)
  t.truthy(m, line)
  // Each chunk is 'chunk N\n' padded to 1 KiB; the app stopped long before the 50th.
  t.true(Number(m[1]) >= 3 * 1024 && Number(m[1]) < 50 * 1024, line)
  t.is(m[1], m[2])
  t.is((await getOnce(ugn.port, '/')).status, 200)
  t.is(await ugn.stop(), 0)
})
