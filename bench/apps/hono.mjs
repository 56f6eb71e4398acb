// Hello world in Hono. Served unchanged by servers/frameworks.mjs through @hono/node-server's
// serve() and by `ugn bench/apps/hono:app` (the fetch adapter).
import { Hono } from 'hono'

export const app = new Hono()

app.get('/', (c) => c.text('Hello, World!'))
