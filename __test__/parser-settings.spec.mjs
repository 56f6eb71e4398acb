// The parser's Gunicorn switches: --header-map for header names containing '_', and
// --permit-unconventional-http-method.
import test from 'ava'

import { appPath, killAll, parseResponse, rawRequest, startUgn } from './helpers/ugn.mjs'

const servers = []

test.after.always(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGTERM').catch(() => {})))
  killAll()
})

async function serve(args) {
  const server = await startUgn(appPath('environ.mjs'), ['--workers', '1', ...args])
  servers.push(server)
  return server
}

const send = async (server, head) => parseResponse(await rawRequest(server.port, `${head}Host: x\r\nConnection: close\r\n\r\n`))

test('--header-map: drop (default) skips X_Auth, refuse answers 400, dangerous keeps it', async (t) => {
  const [drop, refuse, dangerous] = await Promise.all([serve([]), serve(['--header-map', 'refuse']), serve(['--header-map', 'dangerous'])])
  const head = 'GET / HTTP/1.1\r\nX_Auth: admin\r\nX-Other: 1\r\n'
  const dropped = JSON.parse((await send(drop, head)).body)
  t.is(dropped.HTTP_X_AUTH, undefined)
  t.is(dropped.HTTP_X_OTHER, '1')
  t.is((await send(refuse, head)).status, 400)
  t.is(JSON.parse((await send(dangerous, head)).body).HTTP_X_AUTH, 'admin')
})

test('--permit-unconventional-http-method admits a lower-case method, refused by default', async (t) => {
  const [strict, permissive] = await Promise.all([serve([]), serve(['--permit-unconventional-http-method'])])
  t.is((await send(strict, 'purge / HTTP/1.1\r\n')).status, 400)
  const res = await send(permissive, 'purge / HTTP/1.1\r\n')
  t.is(res.status, 200)
  t.is(JSON.parse(res.body).REQUEST_METHOD, 'purge')
})
