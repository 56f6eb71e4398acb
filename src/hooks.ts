// Server hooks, as in Gunicorn: functions a config file exports under these names, called by
// the master or a worker at the moments the names say. A hook that throws is logged with its
// name; only on_starting and when_ready stop the master, as in Gunicorn, where an error there
// aborts the start.

import { describe, log } from './log.js'

export const HOOK_NAMES = [
  'on_starting',
  'on_reload',
  'when_ready',
  'pre_fork',
  'post_fork',
  'post_worker_init',
  'worker_int',
  'worker_abort',
  'pre_exec',
  'pre_request',
  'post_request',
  'child_exit',
  'worker_exit',
  'nworkers_changed',
  'on_exit',
] as const

export type HookName = (typeof HOOK_NAMES)[number]
export type Hook = (...args: never[]) => unknown
export type Hooks = Partial<Record<HookName, Hook>>

export function isHookName(name: string): name is HookName {
  return (HOOK_NAMES as readonly string[]).includes(name)
}

/** Calls a hook if the config defines it; an exception is logged, never thrown. Resolves
 * to whether the hook ran without error. */
export async function runHook(hooks: Hooks, name: HookName, ...args: unknown[]): Promise<boolean> {
  const hook = hooks[name] as ((...a: unknown[]) => unknown) | undefined
  if (hook === undefined) return true
  try {
    await hook(...args)
    return true
  } catch (err) {
    log.error(`Exception in ${name} hook:\n${describe(err)}`)
    return false
  }
}
