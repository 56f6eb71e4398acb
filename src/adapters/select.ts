// Chooses how to serve what the app spec names: as a native app, through the fetch adapter or
// through the node adapter (`--interface`, auto by default). The choice is made once, when
// the worker loads the app, so requests pay nothing for it.

import { EventEmitter } from 'node:events'

import { AppLookupError } from '../app/load.js'
import type { App } from '../bridge/exchange.js'
import type { INTERFACES } from '../config/settings.js'
import { type FetchTarget, fetchApp } from './fetch.js'
import { type NodeHandler, nodeApp } from './node.js'

export type InterfaceName = (typeof INTERFACES)[number]

export interface Served {
  app: App
  interface: Exclude<InterfaceName, 'auto'>
  /** Why auto-detection chose this interface, or why it had to guess. */
  reason: string
  /** Set when the guess could be wrong: the warning to log. */
  ambiguous?: string
}

type Target = Record<string, unknown> & ((...args: unknown[]) => unknown)

function hasMethod(value: unknown, name: string): boolean {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as Target)[name] === 'function'
}

const isFetchTarget = (value: unknown) => hasMethod(value, 'fetch')
const isFastify = (value: unknown) => hasMethod(value, 'routing') && hasMethod(value, 'ready') && hasMethod(value, 'inject')
const isKoa = (value: unknown) => typeof value === 'object' && hasMethod(value, 'callback') && hasMethod(value, 'use')
// Express and Connect apps are functions carrying their router's `handle` and `use`.
const isExpressLike = (value: unknown) => typeof value === 'function' && hasMethod(value, 'handle') && hasMethod(value, 'use')
// An http.Server (or ugn's in-process Server) built but not listening: the app is its 'request'
// listeners, and its 'upgrade' listeners (ws, socket.io) take upgrade requests.
const isServer = (value: unknown) =>
  value instanceof EventEmitter && hasMethod(value, 'listen') && (value as EventEmitter).listenerCount('request') > 0

function serverApp(server: EventEmitter): App {
  return nodeApp((req, res) => server.emit('request', req, res), server)
}

/** The names of a function's first parameters, as written in its source. */
function parameterNames(fn: (...args: unknown[]) => unknown): string[] {
  const source = Function.prototype.toString.call(fn)
  const list = /^[^(]*\(([^)]*)\)/.exec(source)?.[1] ?? /^\s*(?:async\s+)?([\w$]+)\s*=>/.exec(source)?.[1] ?? ''
  return list
    .split(',')
    .map((p) => p.trim().split(/[\s=]/)[0])
    .filter(Boolean)
}

const NATIVE_NAMES = /^(environ|env|e|scope)$|start_?response|^start$/i
const NODE_NAMES = /^_?(req|request|incoming|res|response|reply|outgoing)$/i

/** A Fastify instance answers through its router once its plugins are ready. */
async function fastifyHandler(app: Target): Promise<NodeHandler> {
  await (app.ready as () => Promise<unknown>)()
  const routing = app.routing as NodeHandler
  return (req, res) => routing.call(app, req, res)
}

async function asNode(target: unknown, describeIt: string): Promise<App> {
  if (isServer(target)) return serverApp(target as EventEmitter)
  if (isFastify(target)) return nodeApp(await fastifyHandler(target as Target))
  if (isKoa(target)) return nodeApp((target as { callback(): NodeHandler }).callback())
  if (typeof target === 'function') return nodeApp(target as NodeHandler)
  throw new AppLookupError(`${describeIt} cannot be served by the node interface: it is not a (req, res) function, an Express, Koa or Fastify app.`)
}

function asFetch(target: unknown, describeIt: string): App {
  if (isFetchTarget(target)) return fetchApp(target as FetchTarget)
  if (typeof target === 'function') return fetchApp({ fetch: target as FetchTarget['fetch'] })
  throw new AppLookupError(`${describeIt} cannot be served by the fetch interface: it has no fetch(request) method and is not a function.`)
}

function asNative(target: unknown, describeIt: string): App {
  if (typeof target === 'function') return target as App
  throw new AppLookupError(`Application object must be callable: ${describeIt} is ${typeof target}.`)
}

/** Detects the interface of a two-parameter function by its parameter names. */
function twoParameters(target: Target, describeIt: string): Served {
  const names = parameterNames(target)
  if (names.some((n) => NODE_NAMES.test(n)) && !names.some((n) => NATIVE_NAMES.test(n))) {
    return { app: nodeApp(target as NodeHandler), interface: 'node', reason: `a (${names.join(', ')}) function` }
  }
  if (names.some((n) => NATIVE_NAMES.test(n))) {
    return { app: target as App, interface: 'native', reason: `an (${names.join(', ')}) function` }
  }
  return {
    app: target as App,
    interface: 'native',
    reason: 'a two-parameter function',
    ambiguous:
      `${describeIt} is a function of two parameters (${names.join(', ') || 'unnamed'}), which could be a native ` +
      `(environ, startResponse) app or a Node (req, res) handler; serving it as native. Pass --interface node ` +
      `(or --interface native) to say which.`,
  }
}

function detect(target: unknown, describeIt: string): Served | Promise<Served> {
  if (isServer(target)) return { app: serverApp(target as EventEmitter), interface: 'node', reason: "a server's 'request' listeners" }
  if (isFetchTarget(target)) return { app: fetchApp(target as FetchTarget), interface: 'fetch', reason: 'it has a fetch method' }
  if (isFastify(target)) return asNode(target, describeIt).then((app) => ({ app, interface: 'node', reason: 'a Fastify instance' }))
  if (isKoa(target)) return { app: nodeApp((target as { callback(): NodeHandler }).callback()), interface: 'node', reason: 'a Koa app' }
  if (isExpressLike(target)) return { app: nodeApp(target as NodeHandler), interface: 'node', reason: 'an Express or Connect app' }
  if (typeof target !== 'function') {
    throw new AppLookupError(
      `${describeIt} is ${target === null ? 'null' : typeof target}, which no interface can serve: export an ` +
        `(environ, startResponse) function, a Node (req, res) handler, an Express, Koa or Fastify app, or an object with a fetch(request) method.`,
    )
  }
  const fn = target as Target
  if (fn.length === 3) return { app: nodeApp(fn as NodeHandler), interface: 'node', reason: 'a (req, res, next) function' }
  if (fn.length === 1) return { app: fetchApp({ fetch: fn as FetchTarget['fetch'] }), interface: 'fetch', reason: 'a one-parameter (request) function' }
  return twoParameters(fn, describeIt)
}

/** Wraps the loaded app for the native interface, as `--interface` asks. */
export async function serveAs(target: unknown, requested: InterfaceName, spec: string): Promise<Served> {
  const describeIt = JSON.stringify(spec)
  const chosen = `chosen with --interface ${requested}`
  switch (requested) {
    case 'native':
      return { app: asNative(target, describeIt), interface: 'native', reason: chosen }
    case 'fetch':
      return { app: asFetch(target, describeIt), interface: 'fetch', reason: chosen }
    case 'node':
      return { app: await asNode(target, describeIt), interface: 'node', reason: chosen }
    case 'auto':
      return detect(target, describeIt)
  }
}
