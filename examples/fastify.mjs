// Fastify on ugn, unmodified:   npx ugn examples/fastify:app
// The same routes as the other examples (see examples/README.md).
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'

import formbody from '@fastify/formbody'
import Fastify from 'fastify'

export const app = Fastify({ bodyLimit: 2 * 1024 * 1024 })
app.register(formbody)
app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (req, body, done) => done(null, body))

app.get('/users/:id', async (req) => ({ id: req.params.id, fields: req.query.fields ?? null }))

app.post('/json', async (req, reply) => {
  reply.code(201)
  return { received: req.body }
})

app.post('/form', async (req) => ({ form: { ...req.body } }))

app.post('/upload', async (req) => ({ bytes: req.body.length, sha256: createHash('sha256').update(req.body).digest('hex') }))

app.get('/stream', (req, reply) => {
  const count = Number(req.query.count ?? 5)
  const delay = Number(req.query.delay ?? 1)
  reply.type('text/plain')
  return reply.send(
    Readable.from(
      (async function* () {
        for (let i = 0; i < count; i++) {
          yield `chunk ${i}\n`
          await new Promise((resolve) => setTimeout(resolve, delay))
        }
      })(),
    ),
  )
})

app.get('/cookie', async (req, reply) => {
  reply.header('set-cookie', ['session=abc123; Path=/; HttpOnly', 'theme=dark; Path=/'])
  return { cookie: req.headers.cookie ?? null }
})

app.get('/redirect', (req, reply) => reply.redirect('/users/1', 302))

app.get('/error', async () => {
  throw new Error('thrown on purpose by /error')
})
