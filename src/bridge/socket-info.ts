// What both of ugn's stand-ins for `net.Socket` (the node interface's request socket, and an
// upgraded connection) answer the same way: the addresses of the connection, an idle timer
// that emits 'timeout', and the knobs that have nothing to do because the engine owns the
// real socket.

import type { EventEmitter } from 'node:events'

import type { Environ } from './environ.js'

function family(address: string | undefined): 'IPv4' | 'IPv6' | undefined {
  if (address === undefined || address === '') return undefined
  return address.includes(':') ? 'IPv6' : 'IPv4'
}

/** The connection's ends as `net.Socket` shows them; Unix-socket peers have no address. The
 * socket classes copy these fields onto themselves (`Object.assign(this, info)`). */
export class SocketInfo {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly remoteFamily: 'IPv4' | 'IPv6' | undefined
  readonly localAddress: string | undefined
  readonly localPort: number | undefined
  /** Set on a TLS connection, as on a `tls.TLSSocket`. */
  readonly encrypted: true | undefined

  constructor(environ: Environ) {
    const remote = environ.REMOTE_ADDR
    this.remoteAddress = remote === '' ? undefined : remote
    this.remotePort = environ.REMOTE_PORT === '' ? undefined : Number(environ.REMOTE_PORT)
    this.remoteFamily = family(remote)
    this.localAddress = environ.SERVER_PORT === '' ? undefined : environ.SERVER_NAME
    this.localPort = environ.SERVER_PORT === '' ? undefined : Number(environ.SERVER_PORT)
    this.encrypted = environ['ugn.tls'] ? true : undefined
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (this.localAddress === undefined) return {}
    return { address: this.localAddress, family: family(this.localAddress) ?? 'IPv4', port: this.localPort as number }
  }
}

/** `socket.setTimeout(ms)`: 'timeout' after `ms` without activity; a listener decides what to do. */
export class IdleTimer {
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly socket: EventEmitter) {}

  set(ms: number, onTimeout: (() => void) | undefined, active: boolean): void {
    if (onTimeout) this.socket.once('timeout', onTimeout)
    clearTimeout(this.timer)
    this.timer = ms > 0 && active ? setTimeout(() => this.socket.emit('timeout'), ms).unref() : undefined
  }

  /** Activity: the timer starts over. */
  touch(): void {
    this.timer?.refresh()
  }

  clear(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }
}

/** `setNoDelay`, `setKeepAlive`, `ref`, `unref`: the engine sets TCP_NODELAY on every
 * connection and manages keep-alive itself, and these sockets do not hold the event loop. */
export interface SocketKnobs {
  setNoDelay(): this
  setKeepAlive(): this
  ref(): this
  unref(): this
}

export function addSocketKnobs(prototype: object): void {
  const self = function (this: unknown) {
    return this
  }
  Object.assign(prototype, { setNoDelay: self, setKeepAlive: self, ref: self, unref: self })
}
