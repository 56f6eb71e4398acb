// Finding the app from MODULE[:ATTR], and the exit statuses when that fails or a flag is bad.
import test from 'ava'

import { appPath, get, isAlive, killAll, runUgn, startUgn } from './helpers/ugn.mjs'

test.after.always(() => killAll())

const serves = [
  ['MODULE (attribute app by default)', appPath('named.mjs'), 'named app'],
  ['MODULE without its extension', appPath('named'), 'named app'],
  ['./MODULE relative path', `./${appPath('named.mjs')}`, 'named app'],
  ['MODULE:app', `${appPath('named.mjs')}:app`, 'named app'],
  ['MODULE:other', `${appPath('named.mjs')}:other`, 'other app'],
  ['MODULE:dotted.path', `${appPath('named.mjs')}:handlers.main`, 'handlers.main'],
  ['default export', appPath('default-export.mjs'), 'from default export'],
  ['factory call without arguments', `${appPath('factory.mjs')}:create_app()`, 'factory default x1'],
  ['factory call with JSON arguments', `${appPath('factory.mjs')}:create_app("prod", 2)`, 'factory prod x2'],
  ['async factory', `${appPath('factory.mjs')}:create_app_async()`, 'async factory'],
]

for (const [name, spec, body] of serves) {
  test(`serves ${name}: ${spec}`, async (t) => {
    const ugn = await startUgn(spec)
    try {
      const res = await get(`${ugn.url}/`)
      t.is(res.status, 200)
      t.is(await res.text(), body)
    } finally {
      t.is(await ugn.stop('SIGTERM'), 0)
    }
  })
}

function assertNoWorkerLeft(t, result) {
  for (const pid of result.bootedPids) t.false(isAlive(pid), `worker ${pid} is gone`)
}

test('a module that cannot be found: exit 3, "Worker failed to boot", the module named', async (t) => {
  const r = await runUgn([appPath('does-not-exist.mjs'), '--bind', '127.0.0.1:0'])
  t.is(r.code, 3, r.stderr)
  t.regex(r.stderr, /does-not-exist/)
  t.regex(r.stderr, /Reason: Worker failed to boot\./)
  t.regex(r.stderr, /Shutting down: Master/)
  t.true(r.bootedPids.length >= 1)
  assertNoWorkerLeft(t, r)
})

test('a module that throws on import: exit 3 and the error in the log', async (t) => {
  const r = await runUgn([appPath('throws-on-import.mjs'), '--bind', '127.0.0.1:0', '-w', '2'])
  t.is(r.code, 3, r.stderr)
  t.regex(r.stderr, /throws-on-import/)
  t.regex(r.stderr, /boom at import time \(ugn-test-marker\)/)
  t.regex(r.stderr, /Reason: Worker failed to boot\./)
  assertNoWorkerLeft(t, r)
})

const lookupFailures = [
  ['a module without app or default export', appPath('no-app.mjs'), /no-app[\s\S]*'app'|'app'[\s\S]*no-app/],
  ['a missing attribute', `${appPath('named.mjs')}:nope`, /"nope"[\s\S]*named\.mjs/],
  ['a missing dotted attribute', `${appPath('named.mjs')}:handlers.missing`, /handlers\.missing/],
  ['an app that is not callable', appPath('not-callable.mjs'), /not-callable\.mjs" is object, which no interface can serve/],
  ['an attribute that is a string', `${appPath('named.mjs')}:notCallable`, /notCallable/],
  ['a factory that returns nothing', `${appPath('factory.mjs')}:returns_nothing()`, /returns_nothing/],
  ['calling something that is not a function', `${appPath('named.mjs')}:notCallable()`, /notCallable/],
  ['factory arguments that are not JSON', `${appPath('factory.mjs')}:create_app(prod)`, /create_app\(prod\)/],
]

for (const [name, spec, message] of lookupFailures) {
  test(`${name}: exit 4, "App failed to load", named in the log`, async (t) => {
    const r = await runUgn([spec, '--bind', '127.0.0.1:0'])
    t.is(r.code, 4, r.stderr)
    t.regex(r.stderr, message)
    t.regex(r.stderr, /Reason: App failed to load\./)
    assertNoWorkerLeft(t, r)
  })
}

const badFlags = [
  [['-w', 'abc'], /Invalid value for workers: "abc" is not an integer/],
  [['--workers', '0'], /Invalid value for workers: 0 is out of range/],
  [['--backlog', 'lots'], /Invalid value for backlog: "lots" is not an integer/],
  [['--keep-alive=soon'], /Invalid value for keepalive: "soon" is not a number/],
  [['--graceful-timeout', 'x'], /Invalid value for graceful_timeout: "x" is not a number/],
  [['--limit-request-line', '99999'], /Invalid value for limit_request_line: 99999 is out of range: allowed values are between 0 and 8190/],
  [['--limit-request-fields', '-3'], /limit[-_]request[-_]fields/],
  [['--limit-request-field-size', 'x'], /Invalid value for limit_request_field_size: "x" is not an integer/],
  [['--limit-request-field_size', 'x'], /Invalid value for limit_request_field_size: "x" is not an integer/],
  [['--keep-alive', '-1'], /keepalive|keep-alive/],
  [['--worker-connections', '1.5'], /Invalid value for worker_connections: "1\.5" is not an integer/],
  [['-k', 'threads'], /worker-class[\s\S]*threads[\s\S]*async, sync|worker_class[\s\S]*async, sync/],
  [['--log-level', 'loud'], /log-level[\s\S]*loud[\s\S]*debug, info|log_level[\s\S]*debug, info/],
  [['--no-such-flag'], /no-such-flag/],
]

for (const [flags, message] of badFlags) {
  test(`bad flag ${flags.join(' ')}: exit 2 and a message naming the setting`, async (t) => {
    const r = await runUgn([appPath('hello.mjs'), '--bind', '127.0.0.1:0', ...flags])
    t.is(r.code, 2, r.stderr)
    t.regex(r.stderr, message)
    t.notRegex(r.stderr, /Starting ugn/, 'nothing starts')
    t.is(r.bootedPids.length, 0)
  })
}

test('no app argument: exit 2 with usage', async (t) => {
  const r = await runUgn(['--bind', '127.0.0.1:0'])
  t.is(r.code, 2)
  t.regex(r.stderr + r.stdout, /APP|MODULE/)
})

test('--version prints the version and exits 0', async (t) => {
  const r = await runUgn(['--version'])
  t.is(r.code, 0)
  t.regex(r.stdout, /0\.1\.0/)
})

test('WEB_CONCURRENCY sets the default number of workers', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), [], { env: { WEB_CONCURRENCY: '2' }, workers: 2 })
  try {
    t.is(ugn.workerPids().length, 2)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
