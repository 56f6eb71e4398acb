// Hello world in Express 5, written as its users write it (default settings, so Express's own
// ETag and X-Powered-By stay). Served unchanged by servers/frameworks.mjs on node:http and by
// `ugn bench/apps/express:app`, so both sides run the same code. One route per scenario app
// (bench/scenarios.mjs).
import express from 'express'

export const app = express()
const BLOB = Buffer.alloc(65536, 'x')

app.get('/', (req, res) => {
  res.type('text/plain').send('Hello, World!')
})

app.get('/json', (req, res) => {
  res.json({ message: 'Hello, World!' })
})

app.get('/64k', (req, res) => {
  res.type('application/octet-stream').send(BLOB)
})

app.post('/upload', (req, res) => {
  let n = 0
  req.on('data', (chunk) => (n += chunk.length))
  req.on('end', () => res.type('text/plain').send(String(n)))
})
