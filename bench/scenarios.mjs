// The scenario table. A scenario fixes the request, the load shape and what a correct response
// is; each server maps a scenario to its own app (see servers.mjs).
//   name         used by --scenarios and in the results
//   path         request path (always http://127.0.0.1:PORT)
//   connections  concurrent keep-alive connections
//   pipelining   requests in flight per connection (1 = no pipelining)
//   expect       what the readiness/wire check asserts on one response
//   ugnApp       the MODULE:ATTR passed to ugn's CLI (relative to the repo root)
export const SCENARIOS = [
  {
    name: 'plaintext',
    description: 'GET / -> 200 "Hello, World!" (13 bytes, text/plain), keep-alive, no pipelining',
    path: '/',
    connections: 100,
    pipelining: 1,
    expect: { status: 200, body: 'Hello, World!', contentType: 'text/plain' },
    ugnApp: 'examples/hello:app',
  },
]
