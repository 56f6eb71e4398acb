// Hello world in Fastify (default options: no logger). Served unchanged by
// servers/frameworks.mjs through app.listen and by `ugn bench/apps/fastify:app`.
import Fastify from 'fastify'

export const app = Fastify()

app.get('/', (req, reply) => {
  reply.type('text/plain').send('Hello, World!')
})
