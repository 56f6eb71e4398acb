// 103 Early Hints before the final response, from the native interface and from the node
// interface's res.writeEarlyHints; none for an HTTP/1.0 client.
import test from 'ava'

import { appPath, killAll, rawRequest, startUgn } from './helpers/ugn.mjs'

const servers = []

test.after.always(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGTERM').catch(() => {})))
  killAll()
})

async function serve(app) {
  const server = await startUgn(app, ['--workers', '1'])
  servers.push(server)
  return server
}

const get = (server, version) => rawRequest(server.port, `GET / HTTP/${version}\r\nHost: x\r\nConnection: close\r\n\r\n`)

test('native: environ[ugn.early_hints] sends a 103 with the Link field before the response', async (t) => {
  const server = await serve(appPath('hints/native.mjs'))
  const text = await get(server, '1.1')
  t.true(text.startsWith('HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload; as=style\r\n\r\nHTTP/1.1 200 OK\r\n'), text)
  t.true(text.endsWith('\r\n\r\npage'))
  t.true((await get(server, '1.0')).startsWith('HTTP/1.0 200 OK\r\n'), 'no 103 for HTTP/1.0')
})

test('node: res.writeEarlyHints sends one Link field per hint, then its callback runs', async (t) => {
  const server = await serve(appPath('hints/node.mjs'))
  const text = await get(server, '1.1')
  t.true(
    text.startsWith('HTTP/1.1 103 Early Hints\r\nlink: </app.css>; rel=preload; as=style\r\nlink: </app.js>; rel=preload; as=script\r\n\r\nHTTP/1.1 200 OK\r\n'),
    text,
  )
  t.true(text.endsWith('\r\n\r\npage'))
})
