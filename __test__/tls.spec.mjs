// TLS terminated by the engine: --certfile/--keyfile serve https to each interface, client
// certificates with --ca-certs/--cert-reqs, plain HTTP sent to the TLS port, a renewed
// certificate picked up by HUP, and every bad TLS setting refused before anything binds.
// Certificates are made for each run with the openssl command: a CA, and server and client
// certificates it signs.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, killAll, parseResponse, PATIENCE_MS, rawRequest, runUgn, startUgn, waitFor } from './helpers/ugn.mjs'

const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-tls-'))
const file = (name) => path.join(dir, name)
const servers = []

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/** A key and a certificate for `cn` signed by the test CA; `ext` is the v3 extensions. */
function issue(name, cn, ext) {
  openssl('req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)
  writeFileSync(file(`${name}.ext`), ext)
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`)
}

openssl('req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ugn test CA')
const SERVER_EXT = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
issue('server', 'localhost', SERVER_EXT)
issue('renewed', 'localhost', SERVER_EXT)
issue('client', 'client.test', 'extendedKeyUsage=clientAuth\n')
const ca = readFileSync(file('ca.pem'))

const TLS_ARGS = ['--certfile', file('server.pem'), '--keyfile', file('server.key')]

test.after.always(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGTERM').catch(() => {})))
  killAll()
  rmSync(dir, { recursive: true, force: true })
})

async function serve(app, args) {
  const server = await startUgn(app, [...TLS_ARGS, ...args])
  servers.push(server)
  return server
}

/** One https GET: status, body, the server certificate's fingerprint and the socket's ALPN. */
function httpsGet(port, urlPath = '/', options = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', servername: 'localhost', port, path: urlPath, ca, agent: false, ...options }, (res) => {
      let body = ''
      const fingerprint = res.socket.getPeerCertificate().fingerprint256
      const alpn = res.socket.alpnProtocol
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, body, fingerprint, alpn }))
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
  })
}

const fingerprint = (name) =>
  execFileSync('openssl', ['x509', '-in', file(name), '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).trim().split('=')[1]

test('the native interface sees https and a TLS connection, over keep-alive', async (t) => {
  const server = await serve(appPath('environ.mjs'), [])
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca, ALPNProtocols: ['http/1.1'] })
  try {
    const ports = new Set()
    for (let i = 0; i < 3; i++) {
      const res = await httpsGet(server.port, `/n${i}`, { agent })
      t.is(res.status, 200)
      const environ = JSON.parse(res.body)
      t.is(environ['ugn.url_scheme'], 'https')
      t.is(environ['ugn.tls'], true)
      t.is(environ.PATH_INFO, `/n${i}`)
      t.is(res.alpn, 'http/1.1')
      ports.add(environ.REMOTE_PORT)
    }
    t.is(ports.size, 1, 'the three requests shared one TLS connection')
  } finally {
    agent.destroy()
  }
})

test('the node and fetch interfaces and Express see https', async (t) => {
  const node = await serve(appPath('tls/node.mjs'), [])
  t.deepEqual(JSON.parse((await httpsGet(node.port, '/x?y=1')).body), { encrypted: true, url: '/x?y=1' })
  const fetchApp = await serve(appPath('tls/fetch.mjs'), [])
  t.deepEqual(JSON.parse((await httpsGet(fetchApp.port, '/f')).body), { url: `https://127.0.0.1:${fetchApp.port}/f` })
  const express = await serve(`${appPath('tls/express.mjs')}:app`, [])
  t.deepEqual(JSON.parse((await httpsGet(express.port)).body), { protocol: 'https', secure: true })
})

test('plain HTTP sent to the TLS port gets a 400 that says so, and the worker goes on', async (t) => {
  const server = await serve(appPath('hello.mjs'), [])
  const res = parseResponse(await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
  t.is(res.status, 400)
  t.is(res.body, 'This port speaks HTTPS: plain HTTP was sent.\n')
  t.is((await httpsGet(server.port)).status, 200)
})

test('--cert-reqs 2 admits only clients with a certificate from --ca-certs; 1 admits both', async (t) => {
  const client = { cert: readFileSync(file('client.pem')), key: readFileSync(file('client.key')) }
  const required = await serve(appPath('hello.mjs'), ['--ca-certs', file('ca.pem'), '--cert-reqs', '2'])
  t.is((await httpsGet(required.port, '/', client)).status, 200)
  await t.throwsAsync(httpsGet(required.port), { message: /certificate required|alert number 116|socket hang up|ECONNRESET/ })
  t.is((await httpsGet(required.port, '/', client)).status, 200, 'the refused handshake did not hurt the worker')

  const optional = await serve(appPath('hello.mjs'), ['--ca-certs', file('ca.pem'), '--cert-reqs', 'optional'])
  t.is((await httpsGet(optional.port, '/', client)).status, 200)
  t.is((await httpsGet(optional.port)).status, 200)
})

test('HUP serves a renewed certificate from the same paths', async (t) => {
  const live = { cert: file('live.pem'), key: file('live.key') }
  writeFileSync(live.cert, readFileSync(file('server.pem')))
  writeFileSync(live.key, readFileSync(file('server.key')))
  const server = await startUgn(appPath('hello.mjs'), ['--certfile', live.cert, '--keyfile', live.key])
  servers.push(server)
  t.is((await httpsGet(server.port)).fingerprint, fingerprint('server.pem'))
  writeFileSync(live.cert, readFileSync(file('renewed.pem')))
  writeFileSync(live.key, readFileSync(file('renewed.key')))
  const old = server.workerPids()
  process.kill(server.masterPid, 'SIGHUP')
  await waitFor(() => server.workerPids().length === 1 && !old.includes(server.workerPids()[0]), PATIENCE_MS, 'a new worker')
  await waitFor(async () => (await httpsGet(server.port).catch(() => ({}))).fingerprint === fingerprint('renewed.pem'), PATIENCE_MS, 'the renewed certificate')
  t.pass()
})

const refusals = [
  [['--keyfile', 'server.key'], /Invalid value for keyfile: "server\.key" is set but certfile is not/],
  [['--cert-reqs', '2'], /Invalid value for cert_reqs: 2 needs TLS/],
  [['--certfile', 'missing.pem'], /Invalid value for certfile: cannot read certificates from missing\.pem: No such file/],
  [['--certfile', 'server.key', '--keyfile', 'server.key'], /Invalid value for certfile: server\.key holds no PEM certificate/],
  [['--certfile', 'server.pem'], /Invalid value for certfile: server\.pem holds no PEM private key/],
  [['--certfile', 'server.pem', '--keyfile', 'client.key'], /Invalid value for keyfile: the key does not fit the certificate/],
  [['--certfile', 'server.pem', '--keyfile', 'server.key', '--cert-reqs', '1'], /Invalid value for cert_reqs: checking client certificates needs ca_certs/],
  [['--certfile', 'server.pem', '--keyfile', 'server.key', '--cert-reqs', '3'], /Invalid value for cert_reqs: "3" is not one of the allowed values: 0 \(none\), 1 \(optional\), 2 \(required\)/],
  [['--certfile', 'server.pem', '--keyfile', 'server.key', '--ciphers', 'ECDHE-RSA-AES128-GCM-SHA256'], /Invalid value for ciphers: "ECDHE-RSA-AES128-GCM-SHA256" is not a cipher suite ugn offers: allowed are TLS13_AES_256_GCM_SHA384/],
]

for (const [args, message] of refusals) {
  test(`refused with status 2 before binding: ${args.join(' ')}`, async (t) => {
    const resolved = args.map((a) => (/\.(pem|key)$/.test(a) ? path.relative(process.cwd(), file(a)) : a))
    const run = await runUgn([appPath('hello.mjs'), '--bind', '127.0.0.1:0', ...resolved])
    t.is(run.code, 2)
    t.regex(run.stderr, new RegExp(message.source.replaceAll('server\\.', '.*server\\.').replaceAll('client\\.', '.*client\\.').replaceAll('missing\\.', '.*missing\\.')))
    t.notRegex(run.stderr, /Listening at/)
  })
}

test('--check-config loads the certificate and key', async (t) => {
  const ok = await runUgn([appPath('hello.mjs'), '--check-config', ...TLS_ARGS])
  t.is(ok.code, 0, ok.stderr)
  const bad = await runUgn([appPath('hello.mjs'), '--check-config', '--certfile', file('server.pem'), '--keyfile', file('client.key')])
  t.is(bad.code, 2)
  t.regex(bad.stderr, /keyfile: the key does not fit the certificate/)
})
