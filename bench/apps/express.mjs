// Hello world in Express 5, written as its users write it (default settings, so Express's own
// ETag and X-Powered-By stay). Served unchanged by servers/frameworks.mjs on node:http and by
// `ugn bench/apps/express:app`, so both sides run the same code.
import express from 'express'

export const app = express()

app.get('/', (req, res) => {
  res.type('text/plain').send('Hello, World!')
})
