// Holds N keep-alive connections to a server, mostly idle: each sends one GET when it opens and
// then one a second (spread over the second), below every benchmarked server's keep-alive
// timeout (ugn and Gunicorn: 2 s). A connection the server closes is counted and reopened.
// Prints `IDLE_READY <open> <answered>` once all N have had their first answer (or after 10 s), and on
// SIGTERM `IDLE_JSON {...}` with the counts, then exits.
// argv[2]: JSON { port, count, path, intervalMs? }
import net from 'node:net'

const { port, count, path, intervalMs = 1000 } = JSON.parse(process.argv[2])
const REQUEST = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`
const stats = { count, open: 0, answered: 0, closedByServer: 0, errors: 0, reopened: 0 }
let stopping = false
let ready = false
const conns = []

function open(i, first) {
  const sock = net.connect(port, '127.0.0.1')
  const c = { sock, answeredOnce: false, timer: null }
  conns[i] = c
  sock.setNoDelay(true)
  sock.on('connect', () => {
    stats.open++
    sock.write(REQUEST)
  })
  sock.on('data', (d) => {
    // One small response per request; count the status lines.
    const n = d.toString('latin1').split('HTTP/1.1 ').length - 1
    stats.answered += n
    if (n && !c.answeredOnce) {
      c.answeredOnce = true
      if (first) maybeReady()
      const delay = Math.floor(Math.random() * intervalMs)
      c.timer = setTimeout(function tick() {
        if (sock.destroyed) return
        sock.write(REQUEST)
        c.timer = setTimeout(tick, intervalMs)
      }, delay)
    }
  })
  sock.on('error', () => stats.errors++)
  sock.on('close', () => {
    clearTimeout(c.timer)
    if (sock.connecting === false && c.answeredOnce) stats.open--
    if (stopping) return
    stats.closedByServer++
    stats.reopened++
    setTimeout(() => open(i, false), 50)
  })
}

let firstAnswers = 0
function maybeReady() {
  firstAnswers++
  if (!ready && firstAnswers >= count) announce()
}
function announce() {
  if (ready) return
  ready = true
  process.stdout.write(`IDLE_READY ${stats.open} ${stats.answered}\n`)
}

for (let i = 0; i < count; i++) open(i, true)
setTimeout(announce, 10_000).unref()

process.on('SIGTERM', () => {
  stopping = true
  process.stdout.write(`IDLE_JSON ${JSON.stringify(stats)}\n`, () => {
    for (const c of conns) c?.sock.destroy()
    process.exit(0)
  })
})
