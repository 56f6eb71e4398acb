// /proc readers (CPU time, RSS, affinity, process trees) and a registry of every child the
// harness starts, so all of them die on exit, on errors and on Ctrl-C.
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** Fields of /proc/PID/stat, 1-based as in proc(5); null if the process is gone. */
function statFields(pid) {
  let s
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // comm (field 2) may contain spaces and parens: split after the last ')'.
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return [null, pid, null, ...rest] // rest[0] is field 3 (state)
}

/** utime+stime (fields 14, 15) in clock ticks, or null. */
export function cpuTicks(pid) {
  const f = statFields(pid)
  return f ? Number(f[14]) + Number(f[15]) : null
}

/** cutime+cstime (fields 16, 17): CPU of reaped children, in ticks. */
export function childCpuTicks(pid = process.pid) {
  const f = statFields(pid)
  return f ? Number(f[16]) + Number(f[17]) : null
}

function ppidOf(pid) {
  const f = statFields(pid)
  return f ? Number(f[4]) : null
}

function statusField(pid, key) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s*(.*)$`, 'm'))
    return m ? m[1].trim() : null
  } catch {
    return null
  }
}

/** Peak RSS (VmHWM) in KiB. */
export const vmHwmKiB = (pid) => Number.parseInt(statusField(pid, 'VmHWM') ?? '0', 10) || 0
export const vmRssKiB = (pid) => Number.parseInt(statusField(pid, 'VmRSS') ?? '0', 10) || 0
export const cpusAllowed = (pid) => statusField(pid, 'Cpus_allowed_list')

/**
 * The process tree under root (root first). /proc/PID/task/TID/children needs
 * CONFIG_PROC_CHILDREN, which not every kernel has, so this scans /proc for ppid links.
 */
export function processTree(root) {
  const parentOf = new Map()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const ppid = ppidOf(Number(name))
    if (ppid != null) parentOf.set(Number(name), ppid)
  }
  if (!parentOf.has(root)) return []
  const tree = [root]
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === tree[i]) tree.push(pid)
  }
  return tree
}

/** Per-pid CPU ticks of a tree: Map pid -> ticks. */
export function treeCpu(root) {
  const m = new Map()
  for (const pid of processTree(root)) {
    const t = cpuTicks(pid)
    if (t != null) m.set(pid, t)
  }
  return m
}

/**
 * CPU used by the tree between two treeCpu() snapshots, in seconds. Processes that vanished in
 * between lose the ticks they accrued after `before`; they are listed in `lost`.
 */
export function cpuDelta(before, after) {
  let ticks = 0
  const lost = []
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0)
  for (const pid of before.keys()) if (!after.has(pid)) lost.push(pid)
  return { seconds: ticks / CLK_TCK, lost }
}

// ---------------------------------------------------------------------------------------------
// Child registry

const live = new Set()
let closing = false

/**
 * spawn() in its own process group (detached), registered for cleanup. Output is collected into
 * a bounded tail buffer (and optionally a full buffer) so pipes never block.
 */
export function startChild(cmd, args, { env, cwd, keepStdout = false, label = cmd } = {}) {
  if (closing) throw new Error(`not starting ${label}: shutting down`)
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  const rec = { child, label, stdout: '', stderrTail: [], exited: null }
  const tail = (chunk) => {
    const lines = chunk.toString().split('\n')
    for (const l of lines) if (l) rec.stderrTail.push(l)
    if (rec.stderrTail.length > 200) rec.stderrTail.splice(0, rec.stderrTail.length - 200)
  }
  child.stdout.on('data', (d) => {
    if (keepStdout) rec.stdout += d
    else tail(d)
  })
  child.stderr.on('data', tail)
  rec.exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      rec.exited = { code, signal }
      resolve(rec.exited)
    })
    child.on('error', (err) => {
      rec.exited = { code: null, signal: null, error: err.message }
      resolve(rec.exited)
    })
  })
  rec.closed = new Promise((resolve) => child.on('close', resolve))
  live.add(rec)
  rec.exitPromise.then(() => live.delete(rec))
  return rec
}

function killGroup(pid, sig) {
  try {
    process.kill(-pid, sig)
  } catch {}
}

/**
 * SIGTERM the child's process group (and every pid of its tree, in case a descendant left the
 * group), wait up to graceMs for the child to exit, then SIGKILL the group and the tree.
 */
export async function stopChild(rec, graceMs = 5000) {
  const pid = rec.child.pid
  if (!pid) return
  const tree = processTree(pid)
  const signalAll = (sig) => {
    killGroup(pid, sig)
    for (const p of tree) {
      try {
        process.kill(p, sig)
      } catch {}
    }
  }
  if (rec.exited == null) {
    signalAll('SIGTERM')
    const timer = new Promise((r) => setTimeout(r, graceMs))
    await Promise.race([rec.exitPromise, timer])
  }
  // The leader may be gone while workers linger: always sweep the group and the old tree.
  signalAll('SIGKILL')
  live.delete(rec)
}

export async function stopAll(graceMs = 5000) {
  closing = true
  await Promise.all([...live].map((r) => stopChild(r, graceMs)))
}

/** Last resort from a synchronous 'exit' handler. */
export function killAllNow() {
  for (const rec of live) {
    const pid = rec.child.pid
    if (!pid) continue
    for (const p of processTree(pid)) {
      try {
        process.kill(p, 'SIGKILL')
      } catch {}
    }
    killGroup(pid, 'SIGKILL')
  }
}

/**
 * Per-CPU counters from /proc/stat, in ticks: { cpuN: { busy, steal, total } }. busy excludes
 * idle, iowait and steal. Used to see how much CPU something other than the benchmark used.
 */
export function coreStats() {
  const out = {}
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = line.match(/^(cpu\d*)\s+(.*)$/)
    if (!m) continue
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = m[2].split(/\s+/).map(Number)
    out[m[1]] = { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal }
  }
  return out
}

export function coreStatsDelta(a, b) {
  const out = {}
  for (const k of Object.keys(b)) {
    if (!a[k]) continue
    out[k] = { busy_s: (b[k].busy - a[k].busy) / CLK_TCK, steal_s: (b[k].steal - a[k].steal) / CLK_TCK, total_s: (b[k].total - a[k].total) / CLK_TCK }
  }
  return out
}
