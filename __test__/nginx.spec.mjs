// nginx in front of ugn, for real: the test writes an nginx config, starts nginx on it (its pid,
// logs and temp files in a temporary directory) and sends every request through nginx.
// Upstreams: ugn on TCP (127.0.0.1) and on a Unix socket, keep-alive upstream connections, TLS
// terminated by nginx, an unbuffered chunked upload, and the PROXY protocol from nginx's stream
// module. Clients connect from 127.0.0.2 so that nginx's address (127.0.0.1) and the client's
// can be told apart. docs/deploy.md quotes this configuration.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { nginxStream } from '../scripts/prerequisites.mjs'
import { appPath, isAlive, killAll, PATIENCE_MS, procStat, startUgn, waitFor } from './helpers/ugn.mjs'

// The client's address; 127.0.0.1 where 127.0.0.2 is not configured (macOS), and then the
// client is told apart from nginx by its port.
let CLIENT = '127.0.0.2'
const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-nginx-'))
const file = (name) => path.join(dir, name)
const servers = []
let nginx
let ports

// The load_module line the stream module needs, if any; scripts/test.mjs has checked that nginx and
// the module are installed.
const stream = nginxStream()

/** A free TCP port on `host` (bound to port 0, then released for nginx to take). */
function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A test CA and a certificate it signs for localhost and 127.0.0.1, for nginx's https server. */
function makeCertificates() {
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ugn nginx test CA')
  openssl('req', ...key, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
  writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'server.pem', '-extfile', 'server.ext')
}

/** The nginx configuration: one http server and one https server with the same locations,
 * and a stream server speaking the PROXY protocol to ugn. */
function config({ tcp, unix, untrusted, echo, proxied }) {
  const locations = `
        # ugn over TCP, with a pool of idle upstream connections
        location / {
            proxy_pass http://ugn_tcp;
        }
        # ugn over a Unix socket
        location /unix/ {
            proxy_pass http://ugn_unix;
        }
        # ugn run with --forwarded-allow-ips 10.0.0.1: nginx at 127.0.0.1 is not trusted
        location /untrusted/ {
            proxy_pass http://ugn_untrusted;
        }
        # no upstream keepalive: a new upstream connection per request
        location /no-keepalive/ {
            proxy_pass http://ugn_tcp_once;
        }
        # uploads streamed to the app as they arrive, not spooled to disk first
        location /upload/ {
            client_max_body_size 16m;
            proxy_request_buffering off;
            proxy_pass http://ugn_echo;
        }
        location = /nginx-ready {
            return 200 "ready\\n";
        }
`
  return `${stream.loadModule ?? ''}${process.getuid?.() === 0 ? 'user root;\n' : ''}daemon off;
master_process on;
worker_processes 1;
pid ${file('nginx.pid')};
error_log ${file('error.log')} info;

events {
    worker_connections 256;
}

http {
    access_log ${file('access.log')};
    client_body_temp_path ${file('client_body')};
    proxy_temp_path ${file('proxy')};
    fastcgi_temp_path ${file('fastcgi')};
    uwsgi_temp_path ${file('uwsgi')};
    scgi_temp_path ${file('scgi')};

    # keepalive: idle connections to ugn each nginx worker keeps for reuse. keepalive_timeout
    # stays below ugn's --keep-alive (2 s by default), so that it is nginx that closes an idle
    # connection, never ugn while nginx is sending a request on it.
    upstream ugn_tcp {
        server 127.0.0.1:${tcp};
        keepalive 8;
        keepalive_timeout 1s;
    }
    upstream ugn_unix {
        server unix:${unix};
        keepalive 8;
        keepalive_timeout 1s;
    }
    upstream ugn_untrusted {
        server 127.0.0.1:${untrusted};
        keepalive 8;
        keepalive_timeout 1s;
    }
    upstream ugn_tcp_once {
        server 127.0.0.1:${tcp};
    }
    upstream ugn_echo {
        server 127.0.0.1:${echo};
        keepalive 8;
        keepalive_timeout 1s;
    }

    # For every location: HTTP/1.1 upstream with Connection cleared, so upstream connections
    # are kept alive and request bodies may be sent chunked; and the forwarded headers.
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    # ugn also believes these two scheme headers from a trusted peer: an empty value makes
    # nginx drop what a client sent, so only nginx's X-Forwarded-Proto speaks for the scheme.
    proxy_set_header X-Forwarded-Ssl "";
    proxy_set_header X-Forwarded-Protocol "";

    server {
        listen 127.0.0.1:${ports.http};
${locations}
    }

    server {
        listen 127.0.0.1:${ports.https} ssl;
        ssl_certificate ${file('server.pem')};
        ssl_certificate_key ${file('server.key')};
${locations}
    }
}

stream {
    server {
        listen 127.0.0.1:${ports.stream};
        proxy_pass 127.0.0.1:${proxied};
        proxy_protocol on;
    }
}
`
}

/** The pids of nginx's worker processes (children of the master), from /proc. */
function childrenOf(pid) {
  const pids = []
  if (!existsSync('/proc')) return pids
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && procStat(Number(entry))?.ppid === pid) pids.push(Number(entry))
  }
  return pids
}

const errorLog = () => {
  try {
    return readFileSync(file('error.log'), 'utf8')
  } catch {
    return ''
  }
}

/** One request through nginx from CLIENT: { status, headers, body, localPort }. `chunks`:
 * a request body written piece by piece (sent chunked, as no Content-Length is given). */
function request(urlPath, { tls = false, headers = {}, method = 'GET', chunks, port } = {}) {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port: port ?? (tls ? ports.https : ports.http),
      localAddress: CLIENT,
      path: urlPath,
      method,
      headers: { Host: 'app.example', ...headers },
      agent: false,
      timeout: 10_000,
    }
    if (tls) Object.assign(options, { ca: readFileSync(file('ca.pem')), servername: 'localhost' })
    let localPort
    const req = (tls ? https : http).request(options, (res) => {
      const parts = []
      res.on('data', (d) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString('latin1'), localPort }))
    })
    req.on('socket', (socket) => socket.on('connect', () => (localPort = socket.localPort)))
    req.on('timeout', () => req.destroy(new Error(`${urlPath}: no answer from nginx in 10 s`)))
    req.on('error', reject)
    for (const chunk of chunks ?? []) req.write(chunk)
    req.end()
  })
}

/** The environ the app saw for a request through nginx. */
async function environ(urlPath, opts) {
  const res = await request(urlPath, opts)
  if (res.status !== 200) throw new Error(`${urlPath}: status ${res.status}: ${res.body}\n${errorLog()}`)
  return { ...JSON.parse(res.body), localPort: res.localPort }
}

test.before(async () => {
  if (stream.missing) throw new Error(`these tests need nginx with its stream module (${stream.missing}): node scripts/prerequisites.mjs says how to install it`)
  if (!(await freePort(CLIENT).catch(() => false))) CLIENT = '127.0.0.1'
  makeCertificates()
  const [tcp, untrusted, echo, proxied] = await Promise.all([
    startUgn(appPath('environ.mjs'), ['--bind', `unix:${file('ugn.sock')}`]),
    startUgn(appPath('environ.mjs'), ['--forwarded-allow-ips', '10.0.0.1']),
    startUgn(appPath('echo.mjs')),
    startUgn(appPath('environ.mjs'), ['--proxy-protocol', 'v1'], { ready: false }),
  ])
  servers.push(tcp, untrusted, echo, proxied)
  ports = { http: await freePort(), https: await freePort(), stream: await freePort() }
  writeFileSync(file('nginx.conf'), config({ tcp: tcp.port, unix: file('ugn.sock'), untrusted: untrusted.port, echo: echo.port, proxied: proxied.port }))

  const child = spawn('nginx', ['-c', file('nginx.conf'), '-p', dir, '-e', file('error.log')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d))
  let exit
  child.on('exit', (code, signal) => (exit = { code, signal }))
  nginx = { child, pid: child.pid, exited: () => exit }
  await waitFor(
    async () => {
      if (exit) throw new Error(`nginx exited (${JSON.stringify(exit)}) before serving:\n${output}\n${errorLog()}`)
      return (await request('/nginx-ready').catch(() => ({}))).status === 200
    },
    PATIENCE_MS,
    'nginx to answer',
    100,
  )
})

test.after.always(async () => {
  if (nginx && !nginx.exited()) {
    const workers = childrenOf(nginx.pid)
    nginx.child.kill('SIGTERM')
    await waitFor(() => nginx.exited(), 5000, 'nginx to stop').catch(() => {})
    for (const pid of [nginx.pid, ...workers]) {
      if (isAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
      }
    }
  }
  // A graceful stop, awaited with waitFor: ugn.stop() would leave a 20 s timer that keeps this
  // test process alive.
  for (const server of servers) {
    try {
      process.kill(server.masterPid, 'SIGTERM')
    } catch {}
  }
  await waitFor(() => servers.every((s) => s.exited() !== undefined), 10_000, 'the ugn masters to stop').catch(() => {})
  killAll()
  rmSync(dir, { recursive: true, force: true })
})

test('through nginx: Host and X-Forwarded-* arrive; REMOTE_ADDR is nginx (127.0.0.1 on TCP, empty on a Unix socket)', async (t) => {
  const overTcp = await environ('/tcp?x=1')
  t.is(overTcp.HTTP_HOST, 'app.example')
  t.is(overTcp.HTTP_X_FORWARDED_FOR, CLIENT, "the client's address is only in X-Forwarded-For")
  t.is(overTcp.HTTP_X_FORWARDED_PROTO, 'http')
  t.is(overTcp.REMOTE_ADDR, '127.0.0.1', "nginx's address")
  t.not(overTcp.REMOTE_PORT, String(overTcp.localPort))
  t.is(overTcp.PATH_INFO, '/tcp')
  t.is(overTcp.QUERY_STRING, 'x=1')
  t.is(overTcp['ugn.url_scheme'], 'http')
  t.is(overTcp.HTTP_CONNECTION, undefined, 'nginx sent no Connection header')

  const overUnix = await environ('/unix/path')
  t.is(overUnix.HTTP_HOST, 'app.example')
  t.is(overUnix.HTTP_X_FORWARDED_FOR, CLIENT)
  t.is(overUnix.REMOTE_ADDR, '')
  t.is(overUnix.PATH_INFO, '/unix/path')

  // A client's own X-Forwarded-For is kept and nginx appends the address it saw (the app must
  // not trust what comes before it);
  // a client's X-Forwarded-Proto is replaced by nginx's, and its other scheme headers dropped.
  const spoofed = await environ('/', { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Ssl': 'on', 'X-Forwarded-Protocol': 'ssl' } })
  t.is(spoofed.HTTP_X_FORWARDED_FOR, `203.0.113.9, ${CLIENT}`)
  t.is(spoofed.HTTP_X_FORWARDED_PROTO, 'http')
  t.is(spoofed.HTTP_X_FORWARDED_SSL, undefined)
  t.is(spoofed.HTTP_X_FORWARDED_PROTOCOL, undefined)
  t.is(spoofed['ugn.url_scheme'], 'http')
})

test('TLS at nginx: a trusted nginx (127.0.0.1 or a Unix socket) makes ugn.url_scheme https; an untrusted one does not', async (t) => {
  const overTcp = await environ('/tls', { tls: true })
  t.is(overTcp.HTTP_X_FORWARDED_PROTO, 'https')
  t.is(overTcp['ugn.url_scheme'], 'https')
  t.is(overTcp['ugn.tls'], false, 'the connection from nginx to ugn is plain')
  t.is(overTcp.HTTP_X_FORWARDED_FOR, CLIENT)

  const overUnix = await environ('/unix/tls', { tls: true })
  t.is(overUnix['ugn.url_scheme'], 'https')
  t.is(overUnix.REMOTE_ADDR, '')

  // ugn --forwarded-allow-ips 10.0.0.1: nginx's 127.0.0.1 is not listed, its header is ignored.
  const untrusted = await environ('/untrusted/tls', { tls: true })
  t.is(untrusted.HTTP_X_FORWARDED_PROTO, 'https', 'the header arrived')
  t.is(untrusted['ugn.url_scheme'], 'http', 'but did not count')
  t.is(untrusted.REMOTE_ADDR, '127.0.0.1')
})

test('a 1 MiB chunked upload through nginx with proxy_request_buffering off reaches the app whole, chunked', async (t) => {
  const piece = Buffer.alloc(64 * 1024)
  const chunks = []
  for (let i = 0; i < 16; i++) {
    piece.fill(String.fromCharCode(97 + i))
    chunks.push(Buffer.from(piece))
  }
  const sent = Buffer.concat(chunks)
  const res = await request('/upload/big', { method: 'POST', chunks, headers: { 'Content-Type': 'application/octet-stream' } })
  t.is(res.status, 200, errorLog())
  const echoed = JSON.parse(res.body)
  t.is(echoed.bodyLength, 1024 * 1024)
  t.true(echoed.body === sent.toString('latin1'), 'the same bytes in the same order')
  t.is(echoed.headers.HTTP_TRANSFER_ENCODING, 'chunked', 'nginx sent the body upstream chunked')
  t.is(echoed.headers.CONTENT_LENGTH, undefined)
  t.is(echoed.headers.CONTENT_TYPE, 'application/octet-stream')
})

test('keep-alive upstreams: 20 requests through nginx take fewer upstream connections; without keepalive, one each', async (t) => {
  const pooled = new Set()
  for (let i = 0; i < 20; i++) pooled.add((await environ(`/pooled/${i}`)).REMOTE_PORT)
  t.log(`20 requests used ${pooled.size} upstream connection(s)`)
  t.true(pooled.size < 20, `${pooled.size} distinct upstream connections`)

  const once = new Set()
  for (let i = 0; i < 20; i++) once.add((await environ(`/no-keepalive/${i}`)).REMOTE_PORT)
  t.is(once.size, 20, 'the upstream without keepalive opens a connection per request')
})

test("PROXY protocol from nginx's stream module: REMOTE_ADDR and REMOTE_PORT are the client's (ugn --proxy-protocol v1)", async (t) => {
  const seen = await environ('/proxied', { port: ports.stream })
  t.is(seen.REMOTE_ADDR, CLIENT)
  t.is(seen.REMOTE_PORT, String(seen.localPort))
  t.is(seen.HTTP_HOST, 'app.example')
  t.is(seen.HTTP_X_FORWARDED_FOR, undefined, 'a TCP proxy adds no header')
})
