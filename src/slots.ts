// Which listening sockets each worker inherits. By default every worker shares the master's
// sockets. With --reuse-port every TCP address is a reservation (bound, never listening) and each
// worker takes a slot: one SO_REUSEPORT socket of its own per reserved address, opened by the
// master, so the kernel spreads new connections over the workers. A slot outlives its workers: a
// replacement (after a crash, a timeout or --max-requests) and, during a HUP, the old and the new
// worker of a slot share its socket, so connections queued on it wait for the next worker instead
// of being reset. Only a shrinking worker count (TTOU, WINCH, a HUP to fewer workers) closes a
// slot; the kernel then resets what is queued on it, unless net.ipv4.tcp_migrate_req=1 moves it
// to another socket of the group.

import { native, type ListenerInfo } from './native.js'

interface Member {
  slot: number
  /** Told to stop for good: its slot no longer counts on it. */
  retiring: boolean
}

export class WorkerSlots {
  /** Each open slot's own sockets, one per reserved listener, in listener order. */
  private readonly open = new Map<number, number[]>()
  private readonly members = new Map<number, Member>()

  constructor(private readonly listeners: ListenerInfo[]) {}

  /** The slot for a new worker while `count` workers are wanted: a new slot while fewer are
   * open, else the open slot that fewest staying workers serve (a dead worker's, during a HUP
   * the one whose new worker is still to come). */
  take(count: number): number {
    if (this.open.size < count) return this.openSlot()
    return [...this.open.keys()].reduce((best, slot) => (this.staying(slot) < this.staying(best) ? slot : best))
  }

  /** The descriptors a worker in `slot` inherits, in the order of the listeners. */
  fds(slot: number): number[] {
    const own = this.open.get(slot) ?? []
    let next = 0
    return this.listeners.map((l) => (l.perWorker ? own[next++] : l.fd))
  }

  join(slot: number, pid: number): void {
    this.members.set(pid, { slot, retiring: false })
  }

  /** A worker exited: its slot stays open for the replacement. */
  leave(pid: number): void {
    this.members.delete(pid)
  }

  retire(pid: number): void {
    const member = this.members.get(pid)
    if (member) member.retiring = true
  }

  /** Closes the slots beyond `count` that no staying worker serves, so that no socket nobody
   * accepts from stays in the group, where the kernel would keep routing connections to it. */
  trim(count: number): void {
    const idle = [...this.open.keys()].filter((slot) => this.staying(slot) === 0).sort((a, b) => b - a)
    for (const slot of idle.slice(0, Math.max(0, this.open.size - count))) {
      for (const fd of this.open.get(slot) as number[]) native.closeListener(fd)
      this.open.delete(slot)
    }
  }

  /** Every open slot's sockets, for a new master started on USR2 (none without reservations). */
  inheritable(): number[][] {
    return [...this.open.values()].filter((fds) => fds.length > 0)
  }

  /** Takes over the slots the master this one upgrades passed on, so that its workers and the
   * old master's share them until the old generation is gone. */
  adopt(inherited: number[][]): void {
    const reserved = this.reserved()
    for (const fds of inherited) {
      if (fds.length !== reserved.length) {
        throw new Error(`An inherited worker slot has ${fds.length} sockets for ${reserved.length} reserved addresses`)
      }
      this.open.set(this.freeSlot(), fds.map((fd, i) => native.adoptWorkerListener(reserved[i].fd, fd)))
    }
  }

  private openSlot(): number {
    const slot = this.freeSlot()
    const fds: number[] = []
    try {
      for (const l of this.reserved()) fds.push(native.openWorkerListener(l.fd))
    } catch (err) {
      for (const fd of fds) native.closeListener(fd)
      throw err
    }
    this.open.set(slot, fds)
    return slot
  }

  private reserved(): ListenerInfo[] {
    return this.listeners.filter((l) => l.perWorker)
  }

  private freeSlot(): number {
    let slot = 0
    while (this.open.has(slot)) slot++
    return slot
  }

  private staying(slot: number): number {
    let n = 0
    for (const m of this.members.values()) if (m.slot === slot && !m.retiring) n++
    return n
  }
}
