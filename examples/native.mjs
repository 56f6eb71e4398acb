// The native interface (docs/SPEC.md), with no framework:   npx ugn examples/native:app
// The same routes as the other examples (see examples/README.md).
import { createHash } from 'node:crypto'

const json = (startResponse, status, value, headers = []) => {
  startResponse(status, [['Content-Type', 'application/json'], ...headers])
  return JSON.stringify(value)
}

async function* chunks(count, delay) {
  for (let i = 0; i < count; i++) {
    yield `chunk ${i}\n`
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

export async function app(environ, startResponse) {
  const method = environ.REQUEST_METHOD
  const path = environ.PATH_INFO
  const query = new URLSearchParams(environ.QUERY_STRING)
  const input = environ['ugn.input']
  const user = /^\/users\/([^/]+)$/.exec(path)
  if (user && (method === 'GET' || method === 'HEAD')) {
    return json(startResponse, '200 OK', { id: user[1], fields: query.get('fields') })
  }
  if (method === 'POST' && path === '/json') return json(startResponse, '201 Created', { received: await input.json() })
  if (method === 'POST' && path === '/form') {
    return json(startResponse, '200 OK', { form: Object.fromEntries(new URLSearchParams(await input.text())) })
  }
  if (method === 'POST' && path === '/upload') {
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of input) {
      bytes += chunk.length
      hash.update(chunk)
    }
    return json(startResponse, '200 OK', { bytes, sha256: hash.digest('hex') })
  }
  if (method === 'GET' && path === '/stream') {
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    return chunks(Number(query.get('count') ?? 5), Number(query.get('delay') ?? 1))
  }
  if (method === 'GET' && path === '/cookie') {
    return json(startResponse, '200 OK', { cookie: environ.HTTP_COOKIE ?? null }, [
      ['Set-Cookie', 'session=abc123; Path=/; HttpOnly'],
      ['Set-Cookie', 'theme=dark; Path=/'],
    ])
  }
  if (method === 'GET' && path === '/redirect') {
    startResponse('302 Found', [['Location', '/users/1']])
    return ''
  }
  if (path === '/error') throw new Error('thrown on purpose by /error')
  return json(startResponse, '404 Not Found', { error: 'not found' })
}
