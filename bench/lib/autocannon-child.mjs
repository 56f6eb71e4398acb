// Runs one autocannon load (programmatic API) and prints one JSON line to stdout:
// { result, client: { cpuUser_us, cpuSystem_us, wall_us, cpuPercent } }.
// The parent starts it under `taskset -c 1` in per-core mode, so it never shares the server's
// core. cpu* is this process's own CPU (all threads) over the load run only, so a reader can
// see when autocannon itself is the bottleneck (~100% of one core).
// argv[2]: JSON { url, connections, duration, pipelining, workers?, timeout?, method?, headers?,
// bodyBytes? }
import autocannon from 'autocannon'

const opts = JSON.parse(process.argv[2])
if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(opts.url)) {
  console.error('autocannon-child: refusing a URL other than http://127.0.0.1:PORT/')
  process.exit(2)
}

const cpu0 = process.cpuUsage()
const t0 = process.hrtime.bigint()
const instance = autocannon({
  url: opts.url,
  connections: opts.connections,
  duration: opts.duration,
  pipelining: opts.pipelining ?? 1,
  method: opts.method ?? 'GET',
  headers: opts.headers ?? {},
  ...(opts.bodyBytes ? { body: Buffer.alloc(opts.bodyBytes, 'a') } : {}),
  timeout: opts.timeout ?? 5,
  ...(opts.workers ? { workers: opts.workers } : {}),
})
const result = await instance
const wall = Number(process.hrtime.bigint() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
const client = {
  cpuUser_us: cpu.user,
  cpuSystem_us: cpu.system,
  wall_us: Math.round(wall),
  cpuPercent: ((cpu.user + cpu.system) / wall) * 100,
}
process.stdout.write(`AC_JSON ${JSON.stringify({ result, client })}\n`)
process.exit(0)
