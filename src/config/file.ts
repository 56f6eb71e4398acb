// The config file: a JavaScript module (ESM or CommonJS) exporting settings under their
// snake_case names and server hooks as functions, either as named exports or as the
// properties of its default export.

import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

import { type Hooks, isHookName } from '../hooks.js'
import { SettingError, settings } from './settings.js'

export const DEFAULT_CONFIG_FILES = ['ugn.config.js', 'ugn.config.mjs', 'ugn.config.cjs']

let loads = 0

export interface ConfigFile {
  path: string
  /** Raw setting values, keyed by setting name, not yet validated. */
  values: Record<string, unknown>
  hooks: Hooks
}

export function findDefaultConfig(cwd: string): string | null {
  for (const name of DEFAULT_CONFIG_FILES) {
    const candidate = path.join(cwd, name)
    if (existsSync(candidate)) return candidate
  }
  return null
}

export async function loadConfigFile(file: string, cwd: string): Promise<ConfigFile> {
  const full = path.resolve(cwd, file)
  if (!existsSync(full)) throw new SettingError('config', `${JSON.stringify(file)} does not exist`)
  let mod: Record<string, unknown>
  try {
    // A reload (HUP) must read the file as it is now, not as the module caches remember it:
    // a fresh URL for the ES module loader, and no stale entry in the CommonJS one.
    delete createRequire(import.meta.url).cache[full]
    mod = await import(`${pathToFileURL(full).href}?load=${++loads}`)
  } catch (err) {
    throw new SettingError('config', `${JSON.stringify(file)} failed to load: ${(err as Error)?.message ?? err}`)
  }
  const entries: Record<string, unknown> = {}
  const fallback = mod.default
  if (fallback !== null && typeof fallback === 'object') Object.assign(entries, fallback)
  for (const [key, value] of Object.entries(mod)) if (key !== 'default' && key !== 'module.exports') entries[key] = value

  const values: Record<string, unknown> = {}
  const hooks: Hooks = {}
  for (const [key, value] of Object.entries(entries)) {
    if (isHookName(key)) {
      if (typeof value !== 'function') {
        throw new SettingError(key, `the hook in ${file} must be a function, not ${value === null ? 'null' : typeof value}`)
      }
      hooks[key] = value as Hooks[typeof key]
    } else if (Object.hasOwn(settings, key) && !['config', 'check_config', 'print_config'].includes(key)) {
      values[key] = value
    } else {
      throw new SettingError(
        key,
        'not a setting or a hook',
        `Unknown setting ${JSON.stringify(key)} in ${file}: it is neither a setting nor a hook (see docs/settings.md)`,
      )
    }
  }
  return { path: full, values, hooks }
}
