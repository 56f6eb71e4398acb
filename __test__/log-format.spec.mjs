// --log-format json: the error log of the master and the workers, and the access log, as one
// JSON object per line; text stays Gunicorn's.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, getOnce, killAll, PATIENCE_MS, rawRequest, runUgn, startUgn, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const dirs = []
test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function tempFile(name) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-logformat-'))
  dirs.push(dir)
  return path.join(dir, name)
}

function lines(file) {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

test('json: every error log line of the master and the workers is a JSON object', async (t) => {
  const ugn = await startUgn(appPath('access.mjs'), ['--log-format', 'json', '-w', '2'])
  await getOnce(ugn.port, '/boom')
  await ugn.waitForLog(/boom/)
  t.is(await ugn.stop(), 0)
  const records = ugn
    .log()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line)
      } catch {
        t.fail(`not JSON: ${line}`)
        return {}
      }
    })
  for (const r of records) {
    t.regex(r.time, ISO)
    t.true(['debug', 'info', 'warning', 'error', 'critical'].includes(r.level), r.level)
    t.is(typeof r.pid, 'number')
    t.is(typeof r.message, 'string')
  }
  const listening = records.find((r) => r.message.startsWith('Listening at:'))
  t.is(listening.pid, ugn.masterPid)
  t.is(listening.level, 'info')
  const booted = records.filter((r) => r.message.startsWith('Booting worker with pid:'))
  t.is(booted.length, 2)
  for (const r of booted) t.not(r.pid, ugn.masterPid)
  const failure = records.find((r) => r.level === 'error' && /boom/.test(r.message + (r.exception ?? '')))
  t.truthy(failure, 'the failing request is logged')
  t.true(records.some((r) => r.message === 'Shutting down: Master'))
})

test('text stays the default: Gunicorn-style lines', async (t) => {
  const ugn = await startUgn(appPath('hello.mjs'), [])
  t.is(await ugn.stop(), 0)
  t.regex(ugn.log(), /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}\] \[\d+\] \[INFO\] Starting ugn/m)
})

test('json: the access log writes one object per request with every atom under its key', async (t) => {
  const file = tempFile('access.log')
  const ugn = await startUgn(appPath('access.mjs'), [
    '--log-format',
    'json',
    '--access-logfile',
    file,
    '--access-logformat',
    '%(h)s %({X-Trace}o)s %({Accept}i)s %({missing}i)s %({server_name}e)s',
  ])
  await rawRequest(
    ugn.port,
    'GET /p%20q/x?a=1&b=%22 HTTP/1.1\r\nHost: x\r\nReferer: http://ref/"x"\r\nUser-Agent: test "agent"\r\n' +
      'Authorization: Basic YWxpY2U6c2VjcmV0\r\nAccept: text/*\r\nConnection: close\r\n\r\n',
  )
  await getOnce(ugn.port, '/304')
  await waitFor(() => lines(file).length >= 3, PATIENCE_MS, '3 access lines')
  t.is(await ugn.stop(), 0)
  const records = lines(file).map((line) => JSON.parse(line))
  // The first line is startUgn's readiness GET.
  const full = records.find((r) => r.path === '/p q/x')
  t.regex(full.time, ISO)
  t.like(full, {
    remote_addr: '127.0.0.1',
    user: 'alice',
    request_line: 'GET /p%20q/x?a=1&b=%22 HTTP/1.1',
    method: 'GET',
    query: 'a=1&b=%22',
    protocol: 'HTTP/1.1',
    status: 200,
    bytes_sent: 6,
    referer: 'http://ref/"x"',
    user_agent: 'test "agent"',
    request_headers: { Accept: 'text/*', missing: null },
    response_headers: { 'X-Trace': 'abc "q"' },
    environ: { server_name: '127.0.0.1' },
  })
  t.true(full.pid > 0 && full.pid !== ugn.masterPid)
  t.is(typeof full.request_time, 'number')
  t.true(Number.isInteger(full.request_time_us))
  const notModified = records.find((r) => r.path === '/304')
  t.like(notModified, { status: 304, bytes_sent: 0, user: null, referer: null })
})

test('--log-format other exits 2 naming the allowed values', async (t) => {
  const r = await runUgn([appPath('hello.mjs'), '--bind', '127.0.0.1:0', '--log-format', 'xml'])
  t.is(r.code, 2, r.stderr)
  t.regex(r.stderr, /text, json/)
})
