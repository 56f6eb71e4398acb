// Koa on ugn, unmodified:   npx ugn examples/koa:app
// The same routes as the other examples (see examples/README.md).
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'

import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import Koa from 'koa'

export const app = new Koa()
const router = new Router()

router.get('/users/:id', (ctx) => {
  ctx.body = { id: ctx.params.id, fields: ctx.query.fields ?? null }
})

router.post('/json', bodyParser(), (ctx) => {
  ctx.status = 201
  ctx.body = { received: ctx.request.body }
})

router.post('/form', bodyParser({ enableTypes: ['form'] }), (ctx) => {
  ctx.body = { form: { ...ctx.request.body } }
})

router.post('/upload', async (ctx) => {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of ctx.req) {
    bytes += chunk.length
    hash.update(chunk)
  }
  ctx.body = { bytes, sha256: hash.digest('hex') }
})

router.get('/stream', (ctx) => {
  const count = Number(ctx.query.count ?? 5)
  const delay = Number(ctx.query.delay ?? 1)
  ctx.type = 'text/plain'
  ctx.body = Readable.from(
    (async function* () {
      for (let i = 0; i < count; i++) {
        yield `chunk ${i}\n`
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    })(),
  )
})

router.get('/cookie', (ctx) => {
  ctx.cookies.set('session', 'abc123', { httpOnly: true, path: '/' })
  ctx.cookies.set('theme', 'dark', { httpOnly: false })
  ctx.body = { cookie: ctx.get('cookie') || null }
})

router.get('/redirect', (ctx) => {
  ctx.status = 302
  ctx.redirect('/users/1')
})

router.get('/error', () => {
  throw new Error('thrown on purpose by /error')
})

app.silent = true
app.use(router.routes()).use(router.allowedMethods())
