// Express 5 on ugn, unmodified:   npx ugn examples/express:app
// The same routes as the other examples (see examples/README.md).
import { createHash } from 'node:crypto'

import express from 'express'

export const app = express()

app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id, fields: req.query.fields ?? null })
})

app.post('/json', express.json(), (req, res) => {
  res.status(201).json({ received: req.body })
})

app.post('/form', express.urlencoded({ extended: false }), (req, res) => {
  res.json({ form: { ...req.body } })
})

app.post('/upload', express.raw({ type: () => true, limit: '2mb' }), (req, res) => {
  res.json({ bytes: req.body.length, sha256: createHash('sha256').update(req.body).digest('hex') })
})

app.get('/stream', async (req, res) => {
  const count = Number(req.query.count ?? 5)
  res.type('text/plain')
  for (let i = 0; i < count && !res.destroyed; i++) {
    if (!res.write(`chunk ${i}\n`)) await new Promise((resolve) => res.once('drain', resolve))
    await new Promise((resolve) => setTimeout(resolve, Number(req.query.delay ?? 1)))
  }
  res.end()
})

app.get('/cookie', (req, res) => {
  res.cookie('session', 'abc123', { httpOnly: true, path: '/' })
  res.cookie('theme', 'dark')
  res.json({ cookie: req.headers.cookie ?? null })
})

app.get('/redirect', (req, res) => res.redirect(302, '/users/1'))

app.get('/error', () => {
  throw new Error('thrown on purpose by /error')
})
