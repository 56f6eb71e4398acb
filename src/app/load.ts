// Resolves Gunicorn's `MODULE[:ATTR]` app spec. MODULE is a path (relative to the working
// directory, with or without its extension) or a package name; ATTR defaults to `app`, then
// to the module's default export, and may be a dotted path or a factory call like
// `create_app()` or `create_app("prod", 2)` (arguments are JSON literals).

import { existsSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

/** The app could not be imported at all (Gunicorn exits such a worker with code 3). */
export class AppImportError extends Error {
  name = 'AppImportError'
}

/** The module loaded but holds no usable app (Gunicorn's AppImportError, exit code 4). */
export class AppLookupError extends Error {
  name = 'AppLookupError'
}

export interface AppSpec {
  module: string
  attr?: string
}

export function parseAppSpec(spec: string): AppSpec {
  // A colon inside a factory call's arguments is not the separator.
  const paren = spec.indexOf('(')
  const colon = spec.lastIndexOf(':', paren === -1 ? spec.length : paren)
  if (colon <= 0) return { module: spec }
  const attr = spec.slice(colon + 1)
  if (attr === '') throw new AppLookupError(`Invalid app spec ${JSON.stringify(spec)}: nothing after ':'`)
  return { module: spec.slice(0, colon), attr }
}

const EXTENSIONS = ['', '.js', '.mjs', '.cjs', '/index.js', '/index.mjs', '/index.cjs']

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch (err) {
    // A module the worker's user may not read (after --user) is not a missing module.
    if ((err as NodeJS.ErrnoException).code === 'EACCES') throw new AppImportError(`Cannot read ${p}: permission denied`)
    return false
  }
}

/** A URL `import()` accepts: a file found from the working directory, else a package. */
export function resolveModule(module: string, cwd: string): string {
  const base = path.resolve(cwd, module)
  for (const ext of EXTENSIONS) {
    if (isFile(base + ext)) return pathToFileURL(base + ext).href
  }
  const looksLikePath = module.startsWith('.') || module.startsWith('/') || existsSync(path.dirname(base))
  try {
    return pathToFileURL(createRequire(path.join(cwd, 'noop.js')).resolve(module)).href
  } catch (err) {
    const tried = looksLikePath ? ` (looked for ${base}{${EXTENSIONS.filter(Boolean).join(',')}})` : ''
    throw new AppImportError(`No module named ${JSON.stringify(module)}${tried}: ${(err as Error).message.split('\n')[0]}`)
  }
}

const CALL = /^([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?:\((.*)\))?$/s

export async function loadApp(spec: string, cwd = process.cwd()): Promise<unknown> {
  const { module, attr } = parseAppSpec(spec)
  const url = resolveModule(module, cwd)
  let mod: Record<string, unknown>
  try {
    mod = await import(url)
  } catch (err) {
    const reason = err instanceof Error ? (err.stack ?? err.message) : String(err)
    throw new AppImportError(`Failed to import module ${JSON.stringify(module)}: ${reason}`)
  }
  if (attr === undefined) {
    if (mod.app !== undefined) return mod.app
    if (mod.default !== undefined) return mod.default
    throw new AppLookupError(`Failed to find attribute 'app' in ${JSON.stringify(module)}, and it has no default export.`)
  }
  const call = CALL.exec(attr.trim())
  if (!call) {
    throw new AppLookupError(`Failed to parse ${JSON.stringify(attr)} as an attribute name or function call.`)
  }
  const [, name, args] = call
  let target: unknown = mod
  for (const part of name.split('.')) {
    target = target == null ? undefined : (target as Record<string, unknown>)[part]
    if (target === undefined && part === name.split('.')[0] && mod.default != null) {
      target = (mod.default as Record<string, unknown>)[part]
    }
    if (target === undefined) {
      throw new AppLookupError(`Failed to find attribute ${JSON.stringify(name)} in ${JSON.stringify(module)}.`)
    }
  }
  if (args === undefined) return target
  if (typeof target !== 'function') {
    throw new AppLookupError(`${JSON.stringify(name)} in ${JSON.stringify(module)} is not a function, so it cannot be called.`)
  }
  let values: unknown[]
  try {
    values = JSON.parse(`[${args}]`)
  } catch {
    throw new AppLookupError(`Failed to parse the arguments of ${JSON.stringify(attr)}: they must be JSON literals.`)
  }
  const app = await (target as (...a: unknown[]) => unknown)(...values)
  if (app === undefined || app === null) {
    throw new AppLookupError(`The factory ${JSON.stringify(attr)} in ${JSON.stringify(module)} returned ${app}.`)
  }
  return app
}
