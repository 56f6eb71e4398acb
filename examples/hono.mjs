// Hono on ugn, unmodified:   npx ugn examples/hono:app
// The same routes as the other examples (see examples/README.md).
import { createHash } from 'node:crypto'

import { Hono } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { stream } from 'hono/streaming'

export const app = new Hono()

app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), fields: c.req.query('fields') ?? null }))

app.post('/json', async (c) => c.json({ received: await c.req.json() }, 201))

app.post('/form', async (c) => c.json({ form: { ...(await c.req.parseBody()) } }))

app.post('/upload', async (c) => {
  const body = Buffer.from(await c.req.arrayBuffer())
  return c.json({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') })
})

app.get('/stream', (c) => {
  const count = Number(c.req.query('count') ?? 5)
  const delay = Number(c.req.query('delay') ?? 1)
  c.header('Content-Type', 'text/plain')
  return stream(c, async (s) => {
    for (let i = 0; i < count && !s.aborted; i++) {
      await s.write(`chunk ${i}\n`)
      await s.sleep(delay)
    }
  })
})

app.get('/cookie', (c) => {
  setCookie(c, 'session', 'abc123', { httpOnly: true, path: '/' })
  setCookie(c, 'theme', 'dark', { path: '/' })
  const cookies = getCookie(c)
  return c.json({ cookie: Object.keys(cookies).length ? Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join('; ') : null })
})

app.get('/redirect', (c) => c.redirect('/users/1', 302))

app.get('/error', () => {
  throw new Error('thrown on purpose by /error')
})
