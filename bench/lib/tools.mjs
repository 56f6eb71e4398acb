// Load generators. Each run returns one normalised record:
//   { tool, requests, duration_s, rps, p50_ms, p99_ms, max_ms, non2xx, socketErrors,
//     bytesPerResponse, clientCpuPercent, raw }
// Every run is bounded: the tool's own duration plus a hard kill after duration + 20 s.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLK_TCK, childCpuTicks, startChild, stopChild } from './proc.mjs'

const LIB = path.dirname(fileURLToPath(import.meta.url))

export function hasWrk() {
  try {
    execFileSync('wrk', ['-v'], { stdio: 'ignore' })
    return true
  } catch (err) {
    // `wrk -v` exits 1 after printing its version; ENOENT means missing.
    return err.code !== 'ENOENT'
  }
}

export function wrkVersion() {
  try {
    execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    return String(err.stdout || '').split('\n')[0].trim() || null
  }
  return null
}

function pinned(cpus, cmd, args) {
  return cpus == null ? { cmd, args } : { cmd: 'taskset', args: ['-c', String(cpus), cmd, ...args] }
}

async function runBounded(cmd, args, durationS, label) {
  const cut0 = childCpuTicks()
  const t0 = process.hrtime.bigint()
  const rec = startChild(cmd, args, { keepStdout: true, label })
  const hardMs = (durationS + 20) * 1000
  let killed = false
  const timer = setTimeout(() => {
    killed = true
    stopChild(rec, 1000)
  }, hardMs)
  const exit = await rec.exitPromise
  await rec.closed
  clearTimeout(timer)
  const wall_s = Number(process.hrtime.bigint() - t0) / 1e9
  // The child has been reaped, so its CPU is now in our cutime+cstime.
  const cut1 = childCpuTicks()
  const childCpu_s = (cut1 - cut0) / CLK_TCK
  if (killed) throw new Error(`${label} exceeded its ${hardMs / 1000} s bound and was killed`)
  if (exit.error) throw new Error(`${label} failed to start: ${exit.error}`)
  return { exit, stdout: rec.stdout, stderr: rec.stderrTail.join('\n'), wall_s, childCpu_s }
}

/** wrk -t{threads} -c{connections} -d{duration}s --latency, with a Lua done() JSON line. */
export async function runWrk({ url, connections, duration, threads = 1, cpus = null, pipelining = 1 }) {
  if (pipelining !== 1) throw new Error('wrk pipelining needs a request script; not implemented yet')
  const args = [
    `-t${threads}`, `-c${connections}`, `-d${duration}s`, '--latency', '--timeout', '5s',
    '-s', path.join(LIB, 'wrk-report.lua'), url,
  ]
  const { cmd, args: full } = pinned(cpus, 'wrk', args)
  const r = await runBounded(cmd, full, duration, 'wrk')
  const line = r.stdout.split('\n').find((l) => l.startsWith('WRK_JSON '))
  if (r.exit.code !== 0 || !line) {
    throw new Error(`wrk exited ${r.exit.code ?? r.exit.signal}: ${r.stderr || r.stdout}`.slice(0, 2000))
  }
  const j = JSON.parse(line.slice('WRK_JSON '.length))
  const duration_s = j.duration_us / 1e6
  const e = j.errors
  return {
    tool: 'wrk',
    command: [cmd, ...full].join(' '),
    requests: j.requests,
    duration_s,
    rps: j.requests / duration_s,
    p50_ms: j.latency_us.p50 / 1000,
    p99_ms: j.latency_us.p99 / 1000,
    max_ms: j.latency_us.max / 1000,
    non2xx: e.status,
    socketErrors: e.connect + e.read + e.write + e.timeout,
    bytesPerResponse: j.requests ? j.bytes / j.requests : null,
    // wrk's own CPU, from our cutime after reaping it, over its wall time (incl. startup).
    clientCpuPercent: (r.childCpu_s / r.wall_s) * 100,
    clientCpu_s: r.childCpu_s,
    wall_s: r.wall_s,
    raw: { summary: j, stdout: r.stdout.replace(/^WRK_JSON .*\n?/m, '') },
  }
}

/** autocannon through its programmatic API, in a child process (pinned when cpus is set). */
export async function runAutocannon({ url, connections, duration, cpus = null, pipelining = 1, workers = 0 }) {
  const opts = { url, connections, duration, pipelining, ...(workers ? { workers } : {}) }
  const { cmd, args } = pinned(cpus, process.execPath, [path.join(LIB, 'autocannon-child.mjs'), JSON.stringify(opts)])
  const r = await runBounded(cmd, args, duration, 'autocannon')
  const line = r.stdout.split('\n').find((l) => l.startsWith('AC_JSON '))
  if (r.exit.code !== 0 || !line) {
    throw new Error(`autocannon exited ${r.exit.code ?? r.exit.signal}: ${r.stderr || r.stdout}`.slice(0, 2000))
  }
  const { result: a, client } = JSON.parse(line.slice('AC_JSON '.length))
  const completed = a.requests.total
  return {
    tool: 'autocannon',
    command: `${[cmd, ...args.slice(0, -1)].join(' ')} '${args.at(-1)}'`,
    requests: completed,
    duration_s: a.duration,
    rps: completed / a.duration,
    p50_ms: a.latency.p50,
    p99_ms: a.latency.p99,
    max_ms: a.latency.max,
    non2xx: a.non2xx,
    socketErrors: a.errors + a.timeouts,
    bytesPerResponse: completed ? a.throughput.total / completed : null,
    // autocannon's own CPU (all threads) over the load run, measured in the child.
    clientCpuPercent: client.cpuPercent,
    // All of the child's CPU (incl. Node startup), from our cutime; used for the 'other CPU' sum.
    clientCpu_s: r.childCpu_s,
    wall_s: r.wall_s,
    raw: {
      client,
      errors: a.errors, timeouts: a.timeouts, resets: a.resets, mismatches: a.mismatches,
      statusCodeStats: a.statusCodeStats, latency: a.latency, requests: a.requests,
      throughput: a.throughput, start: a.start, finish: a.finish,
    },
  }
}
