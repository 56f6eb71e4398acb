// Shared by the peers that have no cluster module of their own (uws.mjs under Node, bun.mjs
// under Bun): the environment they read, and their full mode, where the first process starts
// WORKERS copies of the same script, each listening on the port with SO_REUSEPORT, and stops
// them on SIGTERM. The copies are its children, so the harness counts their CPU and memory.
import { spawn } from 'node:child_process'

/** HOST (127.0.0.1), PORT (required), SCENARIO (the scenario app, plaintext), WORKERS (1),
 * CONNECTION_CLOSE (1: answer requests that ask for it with `Connection: close`). */
export function serverEnv() {
  const port = Number(process.env.PORT)
  if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be set')
  return {
    host: process.env.HOST || '127.0.0.1',
    port,
    scenario: process.env.SCENARIO || 'plaintext',
    workers: Number(process.env.WORKERS || 1),
    connectionClose: process.env.CONNECTION_CLOSE === '1',
  }
}

/** In the first process with WORKERS > 1: starts the copies and returns true (serve nothing). */
export function startCopies(workers) {
  if (workers <= 1 || process.env.BENCH_COPY) return false
  const children = []
  for (let i = 0; i < workers; i++) {
    children.push(spawn(process.execPath, [process.argv[1]], { env: { ...process.env, BENCH_COPY: String(i) }, stdio: 'inherit' }))
  }
  const stop = () => {
    for (const c of children) c.kill('SIGTERM')
    setTimeout(() => process.exit(0), 500).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  return true
}
