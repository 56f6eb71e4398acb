// Differential test against Node's own HTTP parser (llhttp): every request of a generated corpus
// (__test__/helpers/request-corpus.mjs) goes over a raw TCP connection to a node:http server and
// to ugn's in-process server, both running the same echo handler. The two outcomes are compared:
// accepted or rejected, and when both accept, the method, target, version, header fields, body
// and trailers each request was parsed into. Every disagreement must be listed in EXPECTED below
// under a class that docs/conformance.md ("Differential test against llhttp") justifies, so a
// new disagreement, or a listed one that went away, fails the test.
import http from 'node:http'
import net from 'node:net'

import test from 'ava'

import { createServer } from '../dist/index.js'

import { requestCorpus } from './helpers/request-corpus.mjs'
import { parseResponses } from './helpers/ugn.mjs'

/** How long an exchange waits: for the first byte of an answer, then for a next byte once
 * something came (a server that neither answers nor closes is waiting for more of the request),
 * and at most in all. Doubtful cases are measured again with the slower timing, so a loaded
 * machine cannot make up or hide a disagreement. */
const FAST = { firstByteMs: 1000, idleMs: 250, totalMs: 3000 }
const SLOW = { firstByteMs: 2500, idleMs: 1000, totalMs: 5000 }
/** Exchanges in flight at once. */
const PARALLEL = 32

// The disagreement classes: what each side does and, in short, why; docs/conformance.md
// ("Differential test against llhttp") gives the reasons in full under the same ids.
const CLASSES = {
  'node-method-list': { kind: 'node-rejects', why: 'llhttp knows a fixed list of methods; any token is a method (RFC 9110 §9.1)' },
  'non-ascii-target': { kind: 'node-rejects', why: 'deliberate: valid UTF-8 in the target is passed to the app, as Gunicorn does (which passes any byte above 0x20); RFC 9112 §3 only says SHOULD 400' },
  'target-form': { kind: 'ugn-rejects', why: 'asterisk-form only with OPTIONS, no invalid URI (RFC 9112 §3.2, §3.2.4; RFC 3986 §3.2.2)' },
  'connect-target': { kind: 'ugn-rejects', why: 'CONNECT takes only the authority-form, host and port, and an empty or invalid port MUST be refused (RFC 9112 §3.2.3, RFC 9110 §9.3.6)' },
  'request-line-limit': { kind: 'ugn-rejects', why: 'request line over --limit-request-line (4094) answers 414 (RFC 9112 §3)' },
  'version-higher-minor': { kind: 'node-rejects', why: 'HTTP/1.2 to HTTP/1.9 are processed as HTTP/1.1, the highest minor version ugn implements (RFC 9110 §2.5 SHOULD)' },
  'version-not-http-1x': { kind: 'ugn-rejects', why: 'only HTTP/1.0 and HTTP/1.1 request lines, no HTTP/0.9, HTTP/2.0 or RTSP (RFC 9112 §2.3, §3; RFC 9110 §2.5)' },
  'request-line-whitespace': { kind: 'ugn-rejects', why: 'exactly one SP between the parts (RFC 9112 §3)' },
  'bare-lf': { kind: 'ugn-rejects', why: 'a bare LF is never a line end for ugn (RFC 9112 §2.2 only MAY)' },
  'underscore-names': { kind: 'parse-differs', why: 'fields whose name holds "_" are dropped from the environ (CGI name collision, RFC 3875 §4.1.18)' },
  'field-size-limit': { kind: 'ugn-rejects', why: 'a field line with its CRLF over --limit-request-field-size (8190) answers 431 (RFC 9110 §5.4, RFC 6585 §5)' },
  'field-count-limit': { kind: 'ugn-rejects', why: 'more than --limit-request-fields (100) fields answers 431 (RFC 9110 §5.4, RFC 6585 §5)' },
  'node-head-size-limit': { kind: 'node-rejects', why: "node's 16 KiB head limit (--max-http-header-size), not one of ugn's (RFC 9110 §5.4)" },
  'singleton-repeated': { kind: 'ugn-rejects', why: 'more than one Host (MUST 400, RFC 9112 §3.2) or Content-Type (a singleton, RFC 9110 §5.3, §8.3)' },
  'host-invalid': { kind: 'ugn-rejects', why: 'a Host that is no uri-host [":" port] MUST get 400 (RFC 9112 §3.2, RFC 3986 §3.2.2)' },
  'te-not-understood': { kind: 'ugn-rejects', why: 'a transfer coding the server does not implement, or none at all (RFC 9112 §6.1, §6.3 item 4)' },
  'te-empty-list-element': { kind: 'node-rejects', why: 'an empty list element after chunked MUST be accepted and ignored (RFC 9110 §5.6.1.2); llhttp refuses it' },
  'te-http10': { kind: 'ugn-rejects', why: 'Transfer-Encoding in an HTTP/1.0 request is faulty framing (RFC 9112 §6.1)' },
  'chunk-ext-bws': { kind: 'node-rejects', why: 'whitespace (BWS) around ";" and "=" of a chunk extension is allowed (RFC 9112 §7.1.1)' },
  'chunk-ext-empty-token': { kind: 'ugn-rejects', why: 'chunk-ext-name and chunk-ext-val are tokens of at least one character (RFC 9112 §7.1.1)' },
  'trailer-forbidden-field': { kind: 'ugn-rejects', why: 'Host (routing) has no place in a trailer section (RFC 9110 §6.5.1)' },
  'node-pipeline-abort': { kind: 'node-rejects', why: 'node fails the whole connection on an error later in the same read, unanswered; ugn answers what came first (RFC 9112 §9.3.2, §9.6)' },
}

// Case name -> class id. A case not listed here must have the same outcome on both servers.
const EXPECTED = {
  'method extension token FOO': 'node-method-list',
  'method with digit': 'node-method-list',
  ...Object.fromEntries(['21', '24', '25', '26', '27', '2a', '2b', '2d', '2e', '5e', '5f', '60', '7c', '7e'].map((h) => [`sweep method byte 0x${h}`, 'node-method-list'])),
  // Deliberate: "GET /caf\xc3\xa9 HTTP/1.1" (raw UTF-8 in the target) is served; llhttp answers 400.
  'target raw UTF-8': 'non-ascii-target',
  'target absolute-form unbalanced IPv6': 'target-form',
  'target asterisk': 'target-form',
  'target asterisk with OPTIONS, absolute-form after it': 'target-form',
  'target origin-form with CONNECT': 'connect-target',
  'target authority-form without port with CONNECT': 'connect-target',
  'target authority-form with port 0 with CONNECT': 'connect-target',
  'target request line of 4095 bytes': 'request-line-limit',
  'target 8000 bytes': 'request-line-limit',
  'version HTTP/1.2': 'version-higher-minor',
  'version HTTP/1.9': 'version-higher-minor',
  'version HTTP/1.2 POST with a chunked body': 'version-higher-minor',
  'version HTTP/2.0': 'version-not-http-1x',
  'version HTTP/0.9': 'version-not-http-1x',
  'version RTSP/1.0': 'version-not-http-1x',
  'version missing (HTTP/0.9 simple request)': 'version-not-http-1x',
  'line method and target only': 'version-not-http-1x',
  'line two spaces after the method': 'request-line-whitespace',
  'line two spaces before the version': 'request-line-whitespace',
  'line leading bare LF': 'bare-lf',
  'name underscore': 'underscore-names',
  'name underscore only': 'underscore-names',
  'sweep field-name byte 0x5f': 'underscore-names',
  'trailer underscore name': 'underscore-names',
  'value line of 8190 bytes': 'field-size-limit',
  'value line of 8191 bytes': 'field-size-limit',
  'value 12000 bytes': 'field-size-limit',
  'trailer 9000 bytes': 'field-size-limit',
  'count 101 header fields': 'field-count-limit',
  'count 500 header fields': 'field-count-limit',
  'count 60 fields of 300 bytes': 'node-head-size-limit',
  'dup Content-Type twice': 'singleton-repeated',
  'host twice, same value': 'singleton-repeated',
  'host twice, different values': 'singleton-repeated',
  'host twice in HTTP/1.0': 'singleton-repeated',
  'host with userinfo': 'host-invalid',
  'host with a path': 'host-invalid',
  'host with a space inside': 'host-invalid',
  'host with a comma list': 'host-invalid',
  'host with a bad port': 'host-invalid',
  'host unbalanced IPv6 literal': 'host-invalid',
  'te unknown coding, chunked': 'te-not-understood',
  'te empty value': 'te-not-understood',
  'te empty list member after chunked': 'te-empty-list-element',
  'te in HTTP/1.0': 'te-http10',
  'ext with spaces around ;': 'chunk-ext-bws',
  'ext with spaces around =': 'chunk-ext-bws',
  'ext empty name': 'chunk-ext-empty-token',
  'ext empty value': 'chunk-ext-empty-token',
  'trailer Host': 'trailer-forbidden-field',
  'pipe GET then an invalid request': 'node-pipeline-abort',
  'pipe GET then a bare-LF request': 'node-pipeline-abort',
  'pipe Connection close then GET': 'node-pipeline-abort',
  'pipe HTTP/1.0 then GET': 'node-pipeline-abort',
}

/** The echo handler both servers run: what the request was parsed into, in a response header
 * (so HEAD requests are echoed too). */
function echo(req, res) {
  const chunks = []
  req.on('error', () => {})
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const parsed = {
      method: req.method,
      url: req.url,
      version: req.httpVersion,
      headers: req.rawHeaders,
      body: Buffer.concat(chunks).toString('latin1'),
      trailers: req.rawTrailers,
    }
    res.writeHead(200, { 'X-Echo': Buffer.from(JSON.stringify(parsed)).toString('base64'), 'Content-Length': '0' })
    res.end()
  })
}

/** Header pairs as a comparable list: names lower-cased, repeats joined with "," (Cookie with
 * "; "), sorted by name. ugn's node adapter rebuilds `rawHeaders` from the environ, which already
 * has this shape; node:http keeps the pairs as sent. */
function fieldMap(raw) {
  const map = new Map()
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    const sep = name === 'cookie' ? '; ' : ','
    map.set(name, map.has(name) ? `${map.get(name)}${sep}${raw[i + 1]}` : raw[i + 1])
  }
  return [...map].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/** Writes `bytes` on a new connection to `port`; resolves to the bytes received and whether the
 * server closed, once it closed or stayed silent as long as `timing` says. */
function exchange(port, bytes, timing) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let data = ''
    let closed = false
    let idle
    const finish = () => {
      clearTimeout(idle)
      clearTimeout(overall)
      socket.destroy()
      resolve({ data, closed })
    }
    const arm = () => {
      clearTimeout(idle)
      idle = setTimeout(finish, data === '' ? timing.firstByteMs : timing.idleMs)
    }
    const overall = setTimeout(finish, timing.totalMs)
    socket.setEncoding('latin1')
    socket.on('connect', () => socket.write(Buffer.from(bytes, 'latin1'), arm))
    socket.on('data', (d) => {
      data += d
      arm()
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      closed = true
      finish()
    })
  })
}

/** What a server made of a request: the requests it echoed (in order), the status of the first
 * response that is not an echo (an error answer), and whether it closed or still waits. */
function outcome({ data, closed }) {
  const echoes = []
  let error = null
  let responses = []
  try {
    responses = parseResponses(data).responses
  } catch {
    error = 'unparsable response'
  }
  for (const res of responses) {
    if (res.status < 200) continue
    const x = res.headers['x-echo']
    if (x === undefined) {
      error = res.status
      break
    }
    const e = JSON.parse(Buffer.from(x, 'base64').toString())
    echoes.push({ ...e, headers: fieldMap(e.headers), trailers: fieldMap(e.trailers) })
  }
  const kind = echoes.length > 0 ? 'accept' : error !== null || closed ? 'reject' : 'wait'
  return { kind, echoes, error, closed }
}

/** How two outcomes differ: null when they agree, else a kind such as 'ugn-rejects'. */
function disagreement(node, ugn) {
  if (node.kind !== ugn.kind) {
    if (node.kind === 'accept') return ugn.kind === 'reject' ? 'ugn-rejects' : 'ugn-waits'
    if (ugn.kind === 'accept') return node.kind === 'reject' ? 'node-rejects' : 'node-waits'
    return ugn.kind === 'wait' ? 'ugn-waits' : 'node-waits'
  }
  if (node.kind !== 'accept') return null
  if (JSON.stringify(node.echoes) !== JSON.stringify(ugn.echoes)) return 'parse-differs'
  if ((node.error === null) !== (ugn.error === null)) return node.error === null ? 'ugn-rejects-later' : 'node-rejects-later'
  return null
}

async function pool(items, n, fn) {
  const out = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i])
      }
    }),
  )
  return out
}

const cases = requestCorpus()
const results = new Map()
let nodeServer
let ugnServer

test.before(async () => {
  nodeServer = http.createServer(echo)
  // node:http hands CONNECT to this event rather than to the request handler.
  nodeServer.on('connect', (req, socket) => {
    socket.on('error', () => {})
    const res = new http.ServerResponse(req)
    res.assignSocket(socket)
    res.on('finish', () => socket.end())
    echo(req, res)
  })
  ugnServer = createServer(echo)
  await new Promise((resolve) => nodeServer.listen(0, '127.0.0.1', resolve))
  await new Promise((resolve) => ugnServer.listen(0, '127.0.0.1', resolve))
  const nodePort = nodeServer.address().port
  const ugnPort = ugnServer.address().port
  const run = async ({ name, bytes }, timing) => {
    const [n, u] = await Promise.all([exchange(nodePort, bytes, timing), exchange(ugnPort, bytes, timing)])
    const row = { name, bytes, node: outcome(n), ugn: outcome(u) }
    return { ...row, diff: disagreement(row.node, row.ugn) }
  }
  const rows = await pool(cases, PARALLEL, (c) => run(c, FAST))
  // Timing can only make a server look slower than it is: measure again, slowly, every case
  // where a server seemed to wait or the two disagreed or were expected to.
  const doubtful = (r) => r.diff !== null || r.name in EXPECTED || r.node.kind === 'wait' || r.ugn.kind === 'wait'
  const again = await pool(rows.filter(doubtful), PARALLEL, (c) => run(c, SLOW))
  for (const row of [...rows, ...again]) results.set(row.name, row)
  if (process.env.DIFFERENTIAL_DUMP) {
    const { writeFileSync } = await import('node:fs')
    writeFileSync(process.env.DIFFERENTIAL_DUMP, JSON.stringify([...results.values()], null, 1))
  }
})

test.after.always(async () => {
  nodeServer?.closeAllConnections?.()
  await Promise.all([new Promise((resolve) => nodeServer?.close(resolve) ?? resolve()), new Promise((resolve) => ugnServer?.close(() => resolve()) ?? resolve())])
})

test('the corpus holds at least 300 requests with unique names', (t) => {
  t.true(cases.length >= 300, `${cases.length} cases`)
  t.is(new Set(cases.map((c) => c.name)).size, cases.length)
})

test('every expected disagreement names a case of the corpus and a documented class', (t) => {
  const names = new Set(cases.map((c) => c.name))
  for (const [name, cls] of Object.entries(EXPECTED)) {
    t.true(names.has(name), `EXPECTED lists ${JSON.stringify(name)}, which is not in the corpus`)
    t.truthy(CLASSES[cls], `${JSON.stringify(name)}: unknown class ${cls}`)
  }
})

test('disagreements by class', (t) => {
  const counts = {}
  for (const cls of Object.values(EXPECTED)) counts[cls] = (counts[cls] ?? 0) + 1
  for (const [cls, n] of Object.entries(counts)) t.log(`${cls} (${CLASSES[cls].kind}): ${n}`)
  t.log(`${cases.length} cases, ${Object.keys(EXPECTED).length} expected disagreements in ${Object.keys(counts).length} classes`)
  t.pass()
})

for (const { name } of cases) {
  test(`differential: ${name}`, (t) => {
    const r = results.get(name)
    const detail = () => JSON.stringify({ bytes: r.bytes.slice(0, 300), node: r.node, ugn: r.ugn }).slice(0, 3000)
    const cls = EXPECTED[name]
    if (cls === undefined) {
      t.is(r.diff, null, `unexpected disagreement ${r.diff}: ${detail()}`)
    } else {
      t.is(r.diff, CLASSES[cls]?.kind, `expected class ${cls} (${CLASSES[cls]?.why}): ${detail()}`)
    }
  })
}
