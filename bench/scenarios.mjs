// The scenario table. A scenario fixes the request, the load shape and what a correct response
// is; each server maps a scenario to its own app (see servers.mjs).
//   name         used by --scenarios and in the results
//   app          which hello world answers it: an export of apps/native.mjs, apps/fetch.mjs,
//                apps/node.mjs and apps/hello_wsgi.py (plaintext, json, bytes64k, upload)
//   path         request path (always http://127.0.0.1:PORT)
//   method, headers, bodyBytes   the request (default GET, no extra headers, no body)
//   connections  concurrent connections the load generator keeps busy
//   idle         extra connections held open by lib/idle-holder.mjs during each measured run,
//                each sending one request per second (below every server's keep-alive timeout)
//   pipelining   requests in flight per connection (1 = no pipelining)
//   expect       what the readiness/wire check asserts on one response
//   ugnApp       the MODULE:ATTR passed to ugn's CLI for ugn-native (relative to the repo root)
//   only         if set, the servers that run it (others are skipped with the reason below)
export const SCENARIOS = [
  {
    name: 'plaintext',
    app: 'plaintext',
    description: 'GET / -> 200 "Hello, World!" (13 bytes, text/plain), keep-alive, no pipelining',
    path: '/',
    connections: 100,
    pipelining: 1,
    expect: { status: 200, body: 'Hello, World!', contentType: 'text/plain' },
    ugnApp: 'examples/hello:app',
  },
  {
    name: 'json',
    app: 'json',
    description: 'GET /json -> 200 {"message":"Hello, World!"} serialised per request (application/json), keep-alive',
    path: '/json',
    connections: 100,
    pipelining: 1,
    expect: { status: 200, body: '{"message":"Hello, World!"}', contentType: 'application/json' },
    ugnApp: 'bench/apps/native:json',
  },
  {
    name: 'bytes64k',
    app: 'bytes64k',
    description: 'GET /64k -> 200, a 64 KiB body (application/octet-stream), keep-alive',
    path: '/64k',
    connections: 50,
    pipelining: 1,
    expect: { status: 200, bodyLength: 65536, contentType: 'application/octet-stream' },
    ugnApp: 'bench/apps/native:bytes64k',
  },
  {
    name: 'upload',
    app: 'upload',
    description: 'POST /upload with a 1 MiB body -> 200 "1048576" (the byte count, text/plain), keep-alive',
    path: '/upload',
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    bodyBytes: 1 << 20,
    connections: 16,
    pipelining: 1,
    expect: { status: 200, body: String(1 << 20), contentType: 'text/plain' },
    ugnApp: 'bench/apps/native:upload',
  },
  {
    name: 'close',
    app: 'plaintext',
    description: 'GET / with "Connection: close": a new TCP connection per request',
    path: '/',
    headers: { Connection: 'close' },
    connections: 50,
    pipelining: 1,
    expect: { status: 200, body: 'Hello, World!', contentType: 'text/plain' },
    ugnApp: 'examples/hello:app',
  },
  {
    name: 'idle1000',
    app: 'plaintext',
    description: 'GET /, load on 50 keep-alive connections while 950 more stay open, each sending one request a second',
    path: '/',
    connections: 50,
    idle: 950,
    pipelining: 1,
    expect: { status: 200, body: 'Hello, World!', contentType: 'text/plain' },
    ugnApp: 'examples/hello:app',
  },
  {
    name: 'pipeline16',
    app: 'plaintext',
    description: 'GET /, 16 requests pipelined on each of 100 keep-alive connections (ugn: native interface)',
    path: '/',
    connections: 100,
    pipelining: 16,
    expect: { status: 200, body: 'Hello, World!', contentType: 'text/plain' },
    ugnApp: 'examples/hello:app',
  },
  {
    name: 'headers',
    app: 'plaintext',
    description: 'GET / with the ten more headers a browser sends (about 400 bytes), keep-alive, no pipelining',
    path: '/',
    headers: {
      'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
      Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'Accept-Language': 'en-US,en;q=0.5',
      'Accept-Encoding': 'gzip, deflate, br',
      Cookie: 'session=6f1c2a9e0b7d4e3f; theme=dark',
      'Upgrade-Insecure-Requests': '1',
      'Sec-Fetch-Dest': 'document',
      'Sec-Fetch-Mode': 'navigate',
      'Sec-Fetch-Site': 'none',
      'Cache-Control': 'max-age=0',
    },
    connections: 100,
    pipelining: 1,
    expect: { status: 200, body: 'Hello, World!', contentType: 'text/plain' },
    ugnApp: 'examples/hello:app',
  },
]
