// App faults under each interface (native, fetch, node), against real servers and raw
// sockets: what the client gets (a 500 while nothing was sent, else a connection closed with
// the body visibly cut short), that the error log names the request and the reason exactly
// once, and that the same worker goes on serving. docs/reliability.md has the table.
import test from 'ava'

import { appPath, getOnce, killAll, openSocket, parseResponse, PATIENCE_MS, rawExchange, sleep, startUgn, waitFor } from './helpers/ugn.mjs'

const servers = {}
const pids = {}

test.before(async () => {
  await Promise.all(
    ['native', 'fetch', 'node'].map(async (name) => {
      // --timeout 2, --body-timeout 1: a request that hangs outlasts both (see the hang tests).
      const args = ['--interface', name, '--timeout', '2', '--body-timeout', '1']
      servers[name] = await startUgn(appPath(`faults/${name}.mjs`), args, { readyPath: '/pid' })
      const res = await getOnce(servers[name].port, '/pid')
      pids[name] = Number(res.body)
    }),
  )
})

test.after.always(async () => {
  await Promise.allSettled(Object.values(servers).map((server) => server.stop('SIGTERM')))
  killAll()
})

let counter = 0
// Ends with a letter, so no tag is a prefix of another (t1z, t12z).
const newTag = () => `t${++counter}z`

/** The error log's entries (a line and its continuation lines) that mention `tag`. */
function entriesWith(server, tag) {
  return server
    .log()
    .split(/\n(?=\[\d{4}-\d\d-\d\d )/)
    .filter((entry) => entry.includes(tag))
}

/** Waits for the request's error entry, then checks that no second one follows. */
async function loggedOnce(t, server, requestLine, tag, reason) {
  await waitFor(() => entriesWith(server, tag).length > 0, PATIENCE_MS, `an error entry for ${requestLine}`)
  await sleep(300)
  const entries = entriesWith(server, tag)
  t.is(entries.length, 1, `logged exactly once:\n${entries.join('\n---\n')}`)
  t.regex(entries[0], /^\[[^\]]+\] \[\d+\] \[ERROR\] Error handling request /)
  t.true(entries[0].split('\n')[0].includes(`Error handling request ${requestLine}`), `the entry names "${requestLine}": ${entries[0]}`)
  t.regex(entries[0], reason)
}

/** The worker that served the fault still serves, and it is the same process. */
async function sameWorker(t, name) {
  const res = await getOnce(servers[name].port, '/pid')
  t.is(res.status, 200)
  t.is(Number(res.body), pids[name], 'the worker was not replaced')
  t.is(servers[name].bootedPids().length, 1, 'no worker was booted since the start')
}

// [interface, path, what the client gets, the reason the log must show]
//   500: `500 Internal Server Error`, nothing of the app's response (no injected header)
//   chunked-cut: the 200 head and the first chunk, then a close without the last chunk
//   length-cut: the 200 head with Content-Length: 100 and fewer bytes, then a close
//   complete: the whole response; the fault (a write after the end) is only logged
const faults = [
  ['native', '/throw', '500', /reason: thrown at once/],
  ['native', '/reject', '500', /reason: rejected later/],
  ['native', '/number', '500', /the app returned \[object Number\], which is not a response body/],
  ['native', '/object', '500', /the app returned \[object Object\], which is not a response body/],
  ['native', '/no-start', '500', /the app did not call startResponse before its body began/],
  ['native', '/status-number', '500', /the status must be a string like "200 OK", not number/],
  ['native', '/headers-string', '500', /the headers must be an array of \[name, value\] pairs or an object, not string/],
  ['native', '/header-undefined', '500', /the value of response header "X-Missing" must be a string or a number, not undefined/],
  ['native', '/start-twice', '500', /startResponse was already called/],
  ['native', '/stream-error-at-once', '500', /reason: generator failed before its first chunk/],
  ['native', '/crlf-status', '500', /invalid response status "200 OK\\r\\nSet-Cookie: evil=1"/],
  ['native', '/crlf', '500', /invalid value for response header "X-Injected"/],
  ['native', '/crlf-streaming', '500', /invalid value for response header "X-Injected"/],
  ['native', '/stream-error', 'chunked-cut', /after its response started; closing the connection\n.*reason: generator failed midway/],
  ['native', '/readable-error', 'chunked-cut', /after its response started; closing the connection\n.*reason: readable failed midway/],
  ['native', '/start-twice-streaming', 'chunked-cut', /after its response started; closing the connection\n.*startResponse was already called/],
  ['native', '/stream-error-length', 'length-cut', /after its response started; closing the connection\n.*reason: generator failed midway/],
  ['native', '/crlf-trailer', 'chunked-cut', /after its response started; closing the connection\n.*invalid value for response header "X-Checksum"/],
  ['native', '/write-after-end', 'complete', /after its response ended\n.*write\(\) was called after the response was complete/],

  ['fetch', '/throw', '500', /reason: thrown at once/],
  ['fetch', '/reject', '500', /reason: rejected later/],
  ['fetch', '/number', '500', /fetch\(\) returned \[object Number\], not a Response/],
  ['fetch', '/object', '500', /fetch\(\) returned \[object Object\], not a Response/],
  ['fetch', '/response-like', '500', /fetch\(\) returned \[object Object\], not a Response/],
  ['fetch', '/stream-error-at-once', '500', /reason: stream failed before its first chunk/],
  ['fetch', '/crlf-status', '500', /invalid response status "200 OK\\r\\nSet-Cookie: evil=1"/],
  ['fetch', '/crlf', '500', /invalid value for response header "X-Injected"/],
  ['fetch', '/crlf-headers', '500', /is an invalid header value/],
  ['fetch', '/stream-error', 'chunked-cut', /after its response started; closing the connection\n.*reason: stream failed midway/],
  ['fetch', '/stream-error-length', 'length-cut', /after its response started; closing the connection\n.*reason: stream failed midway/],

  ['node', '/throw', '500', /reason: thrown at once/],
  ['node', '/reject', '500', /reason: rejected later/],
  ['node', '/start-twice', '500', /Cannot write headers after they are sent to the client/],
  ['node', '/crlf', '500', /Invalid character in header content \["X-Injected"\]/],
  ['node', '/crlf-status', '500', /invalid response status "200 OK\\r\\nSet-Cookie: evil=1"/],
  ['node', '/crlf-status-message', '500', /invalid response status "200 OK\\r\\nSet-Cookie: evil=1"/],
  ['node', '/destroy-at-once', '500', /reason: destroyed before the first byte/],
  ['node', '/stream-error-at-once', '500', /reason: piped stream failed before its first chunk/],
  ['node', '/reject-midway', 'chunked-cut', /after its response started; closing the connection\n.*reason: rejected midway/],
  ['node', '/stream-error', 'chunked-cut', /after its response started; closing the connection\n.*reason: piped stream failed midway/],
  ['node', '/stream-error-length', 'length-cut', /after its response started; closing the connection\n.*reason: piped stream failed midway/],
  ['node', '/socket-destroy', 'chunked-cut', /: the app destroyed the connection\n.*reason: socket destroyed midway/],
  ['node', '/write-after-end', 'complete', /after its response ended\n.*write after end/],
]

for (const [name, path, outcome, reason] of faults) {
  test(`${name} ${path}: ${outcome}, logged once with the request line, the worker serves on`, async (t) => {
    const server = servers[name]
    const tag = newTag()
    const target = `${path}?t=${tag}`
    if (outcome === '500' || outcome === 'complete') {
      // Keep-alive is asked for: a 500 sent before anything else leaves the connection usable.
      const conn = await openSocket(server.port)
      try {
        conn.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`)
        const data = await conn.until((d) => /\r\n\r\n/.test(d) && parseResponse(d).complete, PATIENCE_MS, 'a complete response')
        const res = parseResponse(data)
        if (outcome === '500') {
          t.is(res.status, 500)
          t.is(res.body, 'Internal Server Error\n')
          t.notRegex(data, /evil|X-Injected|never sent/i, 'nothing of the app\'s response went out')
        } else {
          t.is(res.status, 200)
          t.is(res.body, 'done')
          t.is(res.headers['content-length'], '4')
        }
        // The same connection serves the next request.
        conn.take()
        conn.write('GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        const next = parseResponse(await conn.until((d, closed) => closed, PATIENCE_MS, 'the next response'))
        t.is(next.status, 200)
        t.is(Number(next.body), pids[name])
      } finally {
        conn.close()
      }
    } else {
      const { data, closed } = await rawExchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`)
      t.true(closed, 'the server closed the connection')
      const res = parseResponse(data)
      t.is(res.status, 200, 'the head went out before the fault')
      t.is(res.body, 'partial;')
      t.false(res.complete, 'the client can tell the body is cut short')
      if (outcome === 'chunked-cut') {
        t.true(res.chunked)
        t.false(data.includes('\r\n0\r\n'), 'no last chunk')
      } else {
        t.is(res.headers['content-length'], '100')
        t.is(res.headers['transfer-encoding'], undefined)
      }
    }
    await loggedOnce(t, server, `GET ${target}`, tag, reason)
    await sameWorker(t, name)
  })
}

// The other side of the bad-type line: a Response from another copy of undici is not an
// instance of the global class, yet it is a Response (status, headers, a ReadableStream body).
test('fetch /foreign-response: a Response from another copy of undici is served', async (t) => {
  const res = await getOnce(servers.fetch.port, '/foreign-response')
  t.is(res.status, 201)
  t.is(res.body, 'foreign body')
})

// A handler that never answers: the worker's JavaScript thread is not stuck, so its heartbeat
// goes on and --timeout does not end the request, nor does --body-timeout, which times the
// client, not the app (docs/SPEC.md, "Errors"). The request waits until the client goes away,
// and the app hears of it; the worker serves others meanwhile.
for (const name of ['native', 'fetch', 'node']) {
  test(`${name} /hang: unanswered past --timeout and --body-timeout, the worker serves on, the app is told when the client leaves`, async (t) => {
    const server = servers[name]
    const tag = newTag()
    const conn = await openSocket(server.port)
    try {
      conn.write(`GET /hang?t=${tag} HTTP/1.1\r\nHost: x\r\n\r\n`)
      await sleep(3000)
      t.is(conn.data(), '', 'no response')
      t.false(conn.closed(), 'the connection is still open')
      await sameWorker(t, name)
    } finally {
      conn.close()
    }
    await server.waitForLog(new RegExp(`hang released t=${tag}`))
    t.is(entriesWith(server, `GET /hang?t=${tag}`).length, 0, 'a client that leaves is not an app error')
    await sameWorker(t, name)
  })
}

// Outside the request's reach: an 'error' event nobody listens to is an uncaught exception, as
// in any Node process (docs/SPEC.md): the worker exits and the master starts another one. On a
// server of its own, so the other tests' worker stays the same.
test('node /pipe-unhandled: a source\'s unheard error ends the worker, the master replaces it', async (t) => {
  const server = await startUgn(appPath('faults/node.mjs'), ['--interface', 'node'], { readyPath: '/pid' })
  try {
    const [pid] = server.workerPids()
    const { data, closed } = await rawExchange(server.port, 'GET /pipe-unhandled HTTP/1.1\r\nHost: x\r\n\r\n')
    t.true(closed)
    const res = parseResponse(data)
    t.is(res.status, 200)
    t.false(res.complete, 'the body is cut short')
    await server.waitForLog(new RegExp(`Worker \\(pid:${pid}\\) exited with code 1`))
    t.regex(server.log(), /reason: an error event nobody listens to/)
    await waitFor(async () => {
      const next = await getOnce(server.port, '/pid')
      return next.status === 200 && Number(next.body) !== pid
    }, PATIENCE_MS, 'a new worker serving')
    t.is(server.bootedPids().length, 2)
  } finally {
    await server.stop('SIGTERM')
  }
})
