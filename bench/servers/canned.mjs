// The load generators' ceiling (bench/run.mjs --ceiling): a raw TCP responder that writes one
// fixed response per request it sees (it counts the blank lines that end GET requests; no HTTP
// parsing, no Date). Far cheaper per request than any real server, so a tool that cannot load it
// beyond N req/s cannot measure a server beyond N either. Env: HOST, PORT (required).
import net from 'node:net'

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be set')
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!')
const copies = [Buffer.alloc(0)]
for (let i = 1; i <= 64; i++) copies.push(Buffer.concat([copies[i - 1], RESPONSE]))

const server = net.createServer((sock) => {
  sock.setNoDelay(true)
  let carry = ''
  sock.on('data', (d) => {
    const s = carry + d.toString('latin1')
    let n = 0
    let i = s.indexOf('\r\n\r\n')
    let last = -1
    while (i >= 0) {
      n++
      last = i + 4
      i = s.indexOf('\r\n\r\n', last)
    }
    carry = last < 0 ? s.slice(-3) : s.slice(last).slice(-3)
    while (n > 0) {
      const k = Math.min(n, 64)
      sock.write(copies[k])
      n -= k
    }
  })
  sock.on('error', () => {})
})
server.listen({ host, port, backlog: 4096 })
process.on('SIGTERM', () => process.exit(0))
