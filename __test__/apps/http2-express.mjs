// Express over HTTP/2 through the node interface (__test__/http2.spec.mjs): what Express makes of
// the request, and a JSON body parsed by express.json().
import express from 'express'

export const app = express()
app.use(express.json())
app.get('/info', (req, res) =>
  res.json({ method: req.method, url: req.originalUrl, httpVersion: req.httpVersion, host: req.get('host'), hostname: req.hostname, query: req.query, test: req.get('x-test') ?? null, protocol: req.protocol }),
)
app.post('/json', (req, res) => res.json({ got: req.body }))
