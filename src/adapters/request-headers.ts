// The request's header fields rebuilt from the environ's CGI keys, for the adapters. The
// mapping back is exact because the server drops header names containing `_` (see
// docs/SPEC.md): `HTTP_X_FORWARDED_FOR` can only have come from `x-forwarded-for`.

import type { Environ } from '../bridge/environ.js'

const nameCache = new Map<string, string>()

function fieldName(key: string): string {
  let name = nameCache.get(key)
  if (name === undefined) {
    name = key.slice('HTTP_'.length).toLowerCase().replace(/_/g, '-')
    if (nameCache.size < 1024) nameCache.set(key, name)
  }
  return name
}

/** Calls `visit` with each field's lower-case name and value, in the order they arrived
 * (Content-Type and Content-Length, which CGI keeps apart, come last). */
export function forEachRequestHeader(environ: Environ, visit: (name: string, value: string) => void): void {
  for (const key in environ) {
    if (key.startsWith('HTTP_')) visit(fieldName(key), environ[key] as string)
  }
  if (environ.CONTENT_TYPE !== undefined) visit('content-type', environ.CONTENT_TYPE)
  if (environ.CONTENT_LENGTH !== undefined) visit('content-length', environ.CONTENT_LENGTH)
}

/** The host and port the client addressed: the Host header, else the listener's address. */
export function requestHost(environ: Environ): string {
  const host = environ.HTTP_HOST
  if (host !== undefined && host !== '') return host
  const name = environ.SERVER_NAME.includes(':') ? `[${environ.SERVER_NAME}]` : environ.SERVER_NAME
  return environ.SERVER_PORT === '' ? 'localhost' : `${name}:${environ.SERVER_PORT}`
}
