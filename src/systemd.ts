// systemd socket activation (sd_listen_fds(3)): a socket unit binds the addresses and starts
// ugn with them open from descriptor 3 on, saying how many in LISTEN_FDS and for which process
// in LISTEN_PID. The master then serves those sockets instead of binding --bind, as Gunicorn
// does, and the variables are removed so that workers and upgraded masters do not take them
// for their own.

import { FIRST_INHERITED_FD } from './boot.js'

/** The descriptors systemd passed to this process, or undefined when it passed none. */
export function activatedSockets(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number[] | undefined {
  const count = env.LISTEN_FDS
  const owner = env.LISTEN_PID
  delete env.LISTEN_FDS
  delete env.LISTEN_PID
  delete env.LISTEN_FDNAMES
  if (count === undefined || owner === undefined || Number(owner) !== pid) return undefined
  const n = Number(count)
  if (!Number.isInteger(n) || n < 1) return undefined
  return Array.from({ length: n }, (_, i) => FIRST_INHERITED_FD + i)
}
