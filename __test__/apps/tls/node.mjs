// A (req, res) app reporting what Node frameworks read to tell https from http.
export default function handler(req, res) {
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify({ encrypted: req.socket.encrypted ?? null, url: req.url }))
}
