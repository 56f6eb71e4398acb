// Hello world in Fastify (default options: no logger). Served unchanged by
// servers/frameworks.mjs through app.listen and by `ugn bench/apps/fastify:app`. One route per
// scenario app (bench/scenarios.mjs).
import Fastify from 'fastify'

export const app = Fastify()
const BLOB = Buffer.alloc(65536, 'x')

// Fastify parses JSON and text bodies only; an octet-stream body is counted as it streams in.
app.addContentTypeParser('application/octet-stream', (request, payload, done) => {
  let n = 0
  payload.on('data', (chunk) => (n += chunk.length))
  payload.on('end', () => done(null, n))
  payload.on('error', done)
})

app.get('/', (req, reply) => {
  reply.type('text/plain').send('Hello, World!')
})

app.get('/json', (req, reply) => {
  reply.send({ message: 'Hello, World!' })
})

app.get('/64k', (req, reply) => {
  reply.type('application/octet-stream').send(BLOB)
})

app.post('/upload', { bodyLimit: 2 << 20 }, (req, reply) => {
  reply.type('text/plain').send(String(req.body))
})
