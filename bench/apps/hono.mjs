// Hello world in Hono. Served unchanged by servers/frameworks.mjs through @hono/node-server's
// serve() and by `ugn bench/apps/hono:app` (the fetch adapter). One route per scenario app
// (bench/scenarios.mjs).
import { Hono } from 'hono'

export const app = new Hono()
const BLOB = new Uint8Array(65536).fill(0x78)

app.get('/', (c) => c.text('Hello, World!'))

app.get('/json', (c) => c.json({ message: 'Hello, World!' }))

app.get('/64k', (c) => c.body(BLOB, 200, { 'Content-Type': 'application/octet-stream' }))

app.post('/upload', async (c) => c.text(String((await c.req.arrayBuffer()).byteLength)))
