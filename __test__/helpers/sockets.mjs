// What the kernel says about a server's sockets (Linux /proc): which socket each descriptor of a
// process is, and which sockets listen on a TCP port. A socket that is only bound (ugn's
// --reuse-port reservation) is in neither /proc/net/tcp list.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/** Descriptor number -> socket inode, for every socket `pid` holds. */
export function socketInodes(pid) {
  const inodes = new Map()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m) inodes.set(Number(fd), Number(m[1]))
    } catch {}
  }
  return inodes
}

/** The listening socket (inode) each of `pids` inherited as descriptor `fd`, by pid: a worker's
 * first listener is at 3. */
export function inheritedSockets(pids, fd = 3) {
  return new Map(pids.map((pid) => [pid, socketInodes(pid).get(fd)]))
}

/** The distinct listening sockets (inodes, sorted) that `pids` inherited as descriptor `fd`. */
export function sharedBy(pids, fd = 3) {
  return [...new Set(inheritedSockets(pids, fd).values())].sort((a, b) => a - b)
}

/** The inodes of the sockets listening on TCP `port` (IPv4 and IPv6), sorted. */
export function listeningInodes(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const inodes = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {}
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      // f[1] local address:port, f[3] state (0A = LISTEN), f[9] inode.
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '0A') inodes.push(Number(f[9]))
    }
  }
  return inodes.sort((a, b) => a - b)
}
