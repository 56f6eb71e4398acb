// A framework's hello-world app (bench/apps/FRAMEWORK.mjs) on the Node server its users run it
// on: Express on node:http (app.listen), Fastify's own app.listen, Hono on @hono/node-server's
// serve(). With WORKERS set, under node:cluster with that many workers, as in the baseline.
// Env: FRAMEWORK (express|fastify|hono), HOST, PORT (required), WORKERS (unset: one process).
import cluster from 'node:cluster'
import { runPrimary } from './cluster.mjs'

const framework = process.env.FRAMEWORK
const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be set')

// Each returns a function that closes the server. backlog 4096 as in the node-http baseline,
// where the server's API takes one (serve() does not).
const LISTEN = {
  async express(app) {
    const server = await new Promise((resolve, reject) => {
      const s = app.listen({ host, port, backlog: 4096 }, (err) => (err ? reject(err) : resolve(s)))
    })
    return () => server.close()
  },
  async fastify(app) {
    await app.listen({ host, port, backlog: 4096 })
    return () => app.close()
  },
  async hono(app) {
    const { serve } = await import('@hono/node-server')
    const server = await new Promise((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s))
    })
    return () => server.close()
  },
}
if (!Object.hasOwn(LISTEN, framework)) throw new Error(`FRAMEWORK must be one of ${Object.keys(LISTEN).join(', ')}`)

if (process.env.WORKERS && cluster.isPrimary) {
  runPrimary(`${framework}-node`, Number(process.env.WORKERS))
} else {
  const { app } = await import(`../apps/${framework}.mjs`)
  const close = await LISTEN[framework](app)
  process.stderr.write(`${framework}-node: listening on http://${host}:${port} (${process.pid})\n`)
  const stop = async () => {
    await close()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
