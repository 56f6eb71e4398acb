// 103 Early Hints from a (req, res) handler, as node:http's res.writeEarlyHints sends them.
export default function handler(req, res) {
  res.writeEarlyHints({ link: ['</app.css>; rel=preload; as=style', '</app.js>; rel=preload; as=script'] }, () => {
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end('page')
  })
}
