// What the arbiter hands each worker it spawns, through the UGN_WORKER environment variable.
// Listening sockets arrive as inherited descriptors 3, 4, ... in the order of `listeners`.

import type { Config } from './config/settings.js'

export const BOOT_ENV = 'UGN_WORKER'

/** Exit codes shared with Gunicorn, so supervisors can tell the two failures apart. */
export const WORKER_BOOT_ERROR = 3
export const APP_LOAD_ERROR = 4

export interface WorkerBoot {
  app: string
  cwd: string
  config: Config
  /** The config file the master loaded, so the worker can load its hooks too. */
  configFile: string | null
  listeners: string[]
  age: number
  /** Whether the master gave this worker a file to report its counters in (src/worker-stats.ts). */
  stats?: boolean
}

export const FIRST_INHERITED_FD = 3

/** The heartbeat pipe's write end follows the listeners. */
export function heartbeatFd(listeners: number): number {
  return FIRST_INHERITED_FD + listeners
}

/** The counters file, when there is one, follows the heartbeat pipe. */
export function statsFd(listeners: number): number {
  return heartbeatFd(listeners) + 1
}
