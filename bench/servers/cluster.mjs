// The node:cluster primary shared by the full-mode Node servers (default scheduling:
// round-robin in the primary on Linux). It forks n workers and stops them on SIGTERM/SIGINT.
import cluster from 'node:cluster'

export function runPrimary(name, n) {
  let stopping = false
  for (let i = 0; i < n; i++) cluster.fork()
  cluster.on('online', (w) => process.stderr.write(`${name}: worker ${w.process.pid} online\n`))
  cluster.on('exit', (w, code, sig) => {
    if (!stopping) process.stderr.write(`${name}: worker ${w.process.pid} died (${sig || code})\n`)
    if (Object.keys(cluster.workers).length === 0 && stopping) process.exit(0)
  })
  const stop = () => {
    stopping = true
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM')
    setTimeout(() => process.exit(0), 3000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
