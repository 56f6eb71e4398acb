// USR2: how a master hands its sockets to the new master it starts. They arrive as descriptors
// 3, 4, ...: first the listeners, listed in UGN_FD (as Gunicorn lists them in GUNICORN_FD), then
// with --reuse-port every worker slot's own sockets, listed in UGN_SLOT_FD (slots separated by
// commas, a slot's sockets by `+`, in the order of the reserved listeners), so that the new
// master's workers take over the very sockets the old master's workers accept from.

import { FIRST_INHERITED_FD } from './boot.js'

const LISTENERS_ENV = 'UGN_FD'
const SLOTS_ENV = 'UGN_SLOT_FD'

/** Descriptors as this master holds them, or as the new master receives them. */
export interface Sockets {
  listeners: number[]
  slots: number[][]
}

/** The descriptors to pass to the new master, in order, and the environment that names them. */
export function handOver({ listeners, slots }: Sockets): { fds: number[]; env: Record<string, string> } {
  const position = (i: number) => String(FIRST_INHERITED_FD + i)
  const perSlot = slots[0]?.length ?? 0
  const slotStart = listeners.length
  return {
    fds: [...listeners, ...slots.flat()],
    env: {
      [LISTENERS_ENV]: listeners.map((_, i) => position(i)).join(','),
      [SLOTS_ENV]: slots.map((fds, s) => fds.map((_, i) => position(slotStart + s * perSlot + i)).join('+')).join(','),
    },
  }
}

/** The sockets handed over by the master this one upgrades, or undefined if it is no upgrade.
 * The variables are removed, so that workers and later upgrades do not see them. */
export function takeOver(): Sockets | undefined {
  const listeners = process.env[LISTENERS_ENV]
  const slots = process.env[SLOTS_ENV] ?? ''
  delete process.env[LISTENERS_ENV]
  delete process.env[SLOTS_ENV]
  if (listeners === undefined) return undefined
  const numbers = (list: string, separator: string) => list.split(separator).filter(Boolean).map(Number)
  return { listeners: numbers(listeners, ','), slots: slots.split(',').filter(Boolean).map((slot) => numbers(slot, '+')) }
}
