// Behind a proxy: forwarded_allow_ips and secure_scheme_headers deciding ugn.url_scheme, the
// PROXY protocol (v1 and v2) naming REMOTE_ADDR and REMOTE_PORT, refusals, and bad values.
// Every client here is 127.0.0.1: an untrusted peer is one the settings do not list.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, CLI, killAll, parseResponse, parseResponses, PATIENCE_MS, rawExchange, rawRequest, ROOT, startUgn } from './helpers/ugn.mjs'

const ENVIRON = appPath('environ.mjs')
const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-proxy-'))
const servers = []

test.after.always(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGTERM').catch(() => {})))
  killAll()
  rmSync(dir, { recursive: true, force: true })
})

/** A server of the environ app on 127.0.0.1 and on a Unix socket of its own. */
async function serve(name, args, opts) {
  const sock = path.join(dir, `${name}.sock`)
  const server = await startUgn(ENVIRON, ['--bind', `unix:${sock}`, ...args], opts)
  servers.push(server)
  return { ...server, unix: { path: sock } }
}

const GET = 'GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n'

/** The environ the app saw for raw bytes sent to `server` (over `connect`, default TCP). */
async function environ(server, bytes, connect) {
  const res = parseResponse(await rawRequest(server.port, bytes, { connect }))
  if (res.status !== 200) throw new Error(`status ${res.status}: ${res.body}`)
  return JSON.parse(res.body)
}

const scheme = async (server, headers, connect) => (await environ(server, `${GET}${headers}\r\n`, connect))['ugn.url_scheme']

/** The one response a refused connection gets, and whether the server then closed it. */
async function refusal(server, bytes, connect) {
  const { data, closed } = await rawExchange(server.port, bytes, { connect })
  return { ...parseResponse(data), closed }
}

const latin1 = (buffer) => Buffer.from(buffer).toString('latin1')
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]

/** A PROXY v2 header: command 0 LOCAL or 1 PROXY, family/transport byte, address block. */
function v2(command, family, addresses = []) {
  const length = [addresses.length >> 8, addresses.length & 0xff]
  return latin1([...V2_SIGNATURE, 0x20 | command, family, ...length, ...addresses])
}

const ipv6 = (groups) => groups.flatMap((g) => [g >> 8, g & 0xff])
const port = (n) => [n >> 8, n & 0xff]

test.serial('a trusted peer (the default 127.0.0.1) sets the scheme with each secure scheme header', async (t) => {
  const server = await serve('trusted', [])
  t.is(await scheme(server, ''), 'http')
  for (const header of ['X-Forwarded-Proto: https', 'X-Forwarded-Protocol: ssl', 'X-Forwarded-Ssl: on', 'x-forwarded-proto: https']) {
    t.is(await scheme(server, `${header}\r\n`), 'https', header)
  }
  t.is(await scheme(server, 'X-Forwarded-Proto: http\r\n'), 'http')
  t.is(await scheme(server, 'X-Forwarded-Ssl: On\r\n'), 'http', 'values match exactly')
  t.is(await scheme(server, 'X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n'), 'https', 'agreeing headers')

  const conflict = await refusal(server, `${GET}X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n\r\n`)
  t.is(conflict.status, 400)
  t.is(conflict.body, 'contradictory scheme headers\n')
  t.true(conflict.closed)
  t.is(conflict.headers.connection, 'close')
})

test.serial('an untrusted peer cannot set the scheme, nor make headers conflict; a Unix-socket peer is trusted', async (t) => {
  const server = await serve('untrusted', ['--forwarded-allow-ips', '10.0.0.1,192.168.0.0/16,::1'])
  t.is(await scheme(server, 'X-Forwarded-Proto: https\r\n'), 'http')
  t.is(await scheme(server, 'X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n'), 'http', 'ignored, so no conflict')
  const viaUnix = await environ(server, `${GET}X-Forwarded-Proto: https\r\n\r\n`, server.unix)
  t.is(viaUnix['ugn.url_scheme'], 'https')
  t.is(viaUnix.REMOTE_ADDR, '')
})

test.serial('* trusts every peer; --secure-scheme-headers replaces the default headers', async (t) => {
  const server = await serve('custom', ['--forwarded-allow-ips', '*', '--secure-scheme-headers', 'Front-End-Https=on', '--secure-scheme-headers', 'X-Scheme=secure'])
  t.is(await scheme(server, 'front-end-https: on\r\n'), 'https')
  t.is(await scheme(server, 'X-Scheme: secure\r\n'), 'https')
  t.is(await scheme(server, 'X-Forwarded-Proto: https\r\n'), 'http', 'no longer a scheme header')
  t.is((await refusal(server, `${GET}Front-End-Https: on\r\nX-Scheme: plain\r\n\r\n`)).status, 400)
})

test.serial('the config file takes an object of scheme headers and an array of addresses', async (t) => {
  const config = path.join(dir, 'proxy.config.mjs')
  writeFileSync(config, "export const secure_scheme_headers = { 'X-Is-Https': 'yes' }\nexport const forwarded_allow_ips = ['10.0.0.0/8', '127.0.0.1']\n")
  const server = await serve('config', ['-c', config])
  t.is(await scheme(server, 'X-Is-Https: yes\r\n'), 'https')
  t.is(await scheme(server, 'X-Forwarded-Proto: https\r\n'), 'http')
})

test.serial('with --proxy-protocol, PROXY v1 and v2 headers name REMOTE_ADDR and REMOTE_PORT', async (t) => {
  const server = await serve('proxy', ['--proxy-protocol'])
  const who = async (header, connect) => {
    const e = await environ(server, `${header}${GET}\r\n`, connect)
    return `${e.REMOTE_ADDR} ${e.REMOTE_PORT}`
  }
  t.is(await who('PROXY TCP4 203.0.113.7 10.0.0.1 5555 80\r\n'), '203.0.113.7 5555')
  t.is(await who('PROXY TCP6 2001:db8::7 2001:db8::1 6666 443\r\n'), '2001:db8::7 6666')
  t.regex(await who('PROXY UNKNOWN\r\n'), /^127\.0\.0\.1 \d+$/, 'UNKNOWN: the socket peer stands')
  t.is(await who(v2(1, 0x11, [198, 51, 100, 9, 10, 0, 0, 1, ...port(8080), ...port(80)])), '198.51.100.9 8080')
  const v6 = [...ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 9]), ...ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]), ...port(12345), ...port(443)]
  t.is(await who(v2(1, 0x21, v6)), '2001:db8::9 12345')
  t.regex(await who(v2(0, 0x00)), /^127\.0\.0\.1 \d+$/, 'LOCAL: the socket peer stands')
  t.is(await who('PROXY TCP4 192.0.2.5 10.0.0.1 4000 80\r\n', server.unix), '192.0.2.5 4000', 'over a Unix socket too')

  // Split across writes, then two requests on the connection: both keep the named client.
  const data = await rawRequest(server.port, '', {
    chunks: ['PROXY TCP4 192.0.2.1 10.0', '.0.1 4000 80\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n', `${GET}\r\n`],
  })
  const seen = parseResponses(data).responses.map((r) => JSON.parse(r.body))
  t.deepEqual(seen.map((e) => `${e.REMOTE_ADDR} ${e.REMOTE_PORT}`), ['192.0.2.1 4000', '192.0.2.1 4000'])
})

test.serial('a missing or malformed PROXY header is answered 400 and the connection closed', async (t) => {
  const server = await serve('proxy-strict', ['--proxy-protocol', 'auto'])
  const missing = await refusal(server, `${GET}\r\n`)
  t.is(missing.status, 400)
  t.regex(missing.body, /no PROXY protocol header/)
  t.true(missing.closed)
  for (const [what, header, reason] of [
    ['a bad port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n', /invalid PROXY protocol v1 line/],
    ['too few fields', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', /invalid PROXY protocol v1 line/],
    ['an unknown protocol', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', /invalid PROXY protocol v1 line/],
    ['a v2 UDP header', v2(1, 0x12, new Array(12).fill(1)), /invalid PROXY protocol v2 header/],
    ['a v2 header of version 1', latin1([...V2_SIGNATURE, 0x11, 0x11, 0, 0]), /invalid PROXY protocol v2 header/],
  ]) {
    const r = await refusal(server, `${header}${GET}\r\n`)
    t.is(r.status, 400, what)
    t.regex(r.body, reason, what)
    t.true(r.closed, what)
  }
})

test.serial('a peer outside --proxy-allow-from is refused with 403; v1 mode refuses a v2 header', async (t) => {
  const server = await serve('proxy-allow', ['--proxy-protocol', 'v1', '--proxy-allow-from', '10.0.0.1,fd00::/8'])
  const forbidden = await refusal(server, `PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n${GET}\r\n`)
  t.is(forbidden.status, 403)
  t.is(forbidden.body, 'this peer may not use the PROXY protocol (proxy_allow_ips)\n')
  t.true(forbidden.closed)
  t.is((await refusal(server, `${GET}\r\n`)).status, 403, 'plain HTTP from that peer too')
  // A Unix-socket peer is always allowed.
  const e = await environ(server, `PROXY TCP4 192.0.2.9 10.0.0.1 4001 80\r\n${GET}\r\n`, server.unix)
  t.is(`${e.REMOTE_ADDR} ${e.REMOTE_PORT}`, '192.0.2.9 4001')
  t.is((await refusal(server, `${v2(0, 0)}${GET}\r\n`, server.unix)).status, 400)
})

/** Runs the CLI to completion with an extra environment; bounded. */
function run(args, env = {}) {
  const { FORWARDED_ALLOW_IPS, UGN_CMD_ARGS, ...base } = process.env
  const r = spawnSync(process.execPath, [CLI, ENVIRON, '--bind', '127.0.0.1:0', ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: PATIENCE_MS,
  })
  return { code: r.status, stderr: r.stderr }
}

const invalid = [
  ['--forwarded-allow-ips 10.0.0.300', { args: ['--forwarded-allow-ips', '10.0.0.300'] }, /Invalid value for forwarded_allow_ips: "10\.0\.0\.300" is not an IP address or a network; allowed: IP addresses .* or \* for any peer/],
  ['--forwarded-allow-ips with host bits', { args: ['--forwarded-allow-ips', '127.0.0.1,192.168.1.1/24'] }, /Invalid value for forwarded_allow_ips: "192\.168\.1\.1\/24" has host bits set: the network is 192\.168\.1\.0\/24/],
  ['FORWARDED_ALLOW_IPS', { env: { FORWARDED_ALLOW_IPS: 'localhost' } }, /Invalid value for forwarded_allow_ips \(from FORWARDED_ALLOW_IPS\): "localhost" is not an IP address/],
  ['--proxy-allow-from /33', { args: ['--proxy-allow-from', '10.0.0.0/33'] }, /Invalid value for proxy_allow_ips: "10\.0\.0\.0\/33" has an invalid prefix length: it must be 0 to 32/],
  ['--proxy-protocol v3', { args: ['--proxy-protocol', 'v3'] }, /option '--proxy-protocol \[MODE\]' argument 'v3' is invalid\. Allowed choices are off, v1, v2, auto/],
  ['--secure-scheme-headers without =', { args: ['--secure-scheme-headers', 'X-Proto'] }, /Invalid value for secure_scheme_headers: "X-Proto" is not NAME=VALUE/],
  ['--secure-scheme-headers empty value', { args: ['--secure-scheme-headers', 'X-Proto='] }, /Invalid value for secure_scheme_headers: the value of X-Proto, "", is not printable ASCII/],
  ['--secure-scheme-headers twice', { args: ['--secure-scheme-headers', 'X-A=1', '--secure-scheme-headers', 'x-a=2'] }, /Invalid value for secure_scheme_headers: x-a is given more than once/],
  ['file: proxy_protocol yes', { file: 'export const proxy_protocol = "yes"\n' }, /Invalid value for proxy_protocol: "yes" is not one of the allowed values: off, v1, v2, auto \(from /],
  ['file: scheme headers a number', { file: 'export const secure_scheme_headers = 1\n' }, /Invalid value for secure_scheme_headers: 1 is not an object of header names to values/],
  ['file: scheme header value not a string', { file: "export const secure_scheme_headers = { 'X-Ssl': true }\n" }, /Invalid value for secure_scheme_headers: the value of X-Ssl, true, is not printable ASCII/],
  ['file: proxy_allow_ips a number', { file: 'export const proxy_allow_ips = 10\n' }, /Invalid value for proxy_allow_ips: 10 is not a comma-separated string of addresses or an array of them/],
]

for (const [name, c, message] of invalid) {
  test(`invalid: ${name} exits 2 before binding`, (t) => {
    const args = [...(c.args ?? [])]
    if (c.file) {
      const file = path.join(dir, `${name.replace(/\W+/g, '-')}.config.mjs`)
      writeFileSync(file, c.file)
      args.push('-c', file)
    }
    const r = run(args, c.env)
    t.is(r.code, 2, r.stderr)
    t.regex(r.stderr, message)
    t.notRegex(r.stderr, /Listening at|Booting worker/)
  })
}
