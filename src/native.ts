// The compiled addon, loaded through the loader `napi build` generates (binding.cjs), which
// picks the local build or the installed per-platform package.
import { createRequire } from 'node:module'

export interface ListenerInfo {
  fd: number
  url: string
  /** A --reuse-port reservation: each worker gets its own socket from openWorkerListener(fd). */
  perWorker: boolean
}

export interface ReapInfo {
  code?: number | null
  signal?: string | null
}

/** Write results shared by respond, write and end. */
export const WRITE_READY = 0
export const WRITE_FULL = 1
export const WRITE_GONE = -1

/** Event kinds passed to the worker's onEvent callback. */
export const EV_BODY = 1
export const EV_BODY_END = 2
export const EV_BODY_ERROR = 3
export const EV_DRAIN = 4
export const EV_CLOSED = 5

export interface TlsProblem {
  setting: string
  message: string
}

/** certfile, keyfile, ca_certs (empty strings when unset), cert_reqs and ciphers. */
export type TlsArgs = [certfile: string, keyfile: string, caCerts: string, certReqs: number, ciphers: string]

export const NO_TLS: TlsArgs = ['', '', '', 0, '']

export interface Binding {
  // Master side: sockets and processes (crates/ugn-process).
  bindListeners(binds: string[], backlog: number, reusePort: boolean, umask: number): ListenerInfo[]
  checkBind(bind: string): string[]
  checkAllowList(list: string): void
  /** Loads the TLS files as a worker will; null when usable (or certfile is empty: no TLS). */
  checkTls(certfile: string, keyfile: string, caCerts: string, certReqs: number, ciphers: string): TlsProblem | null
  tlsCipherSuites(): string[]
  lookupUser(name: string): number | null
  lookupGroup(name: string): number | null
  openWorkerListener(fd: number): number
  adoptWorkerListener(fd: number, inherited: number): number
  closeListener(fd: number): void
  closeListeners(unlinkUnix: boolean): void
  spawnWorker(
    program: string,
    args: string[],
    env: Record<string, string>,
    fds: number[],
    parentDeathSignal?: number | null,
    output?: number | null,
  ): number
  redirectOutput(fd: number): void
  killProcess(pid: number, signal: string): boolean
  tryReap(pid: number): ReapInfo | null
  heartbeatPipe(): [number, number]
  drainHeartbeat(fd: number): number
  closeFd(fd: number): void

  // Worker side: the HTTP engine (crates/ugn-server), see src/native/server.rs.
  serverStart(
    fds: Int32Array,
    options: Int32Array,
    serverHeader: string,
    reqMeta: Int32Array,
    resMeta: Int32Array,
    onRequest: (text: string, body: Buffer | undefined, trailers: string | undefined) => void,
    /** `chunk`: a body chunk (EV_BODY), or the request's trailer lines (EV_BODY_END). */
    onEvent: (kind: number, id: number, chunk: Buffer | string | undefined) => void,
    forwardedAllowIps: string,
    secureSchemeHeaders: string,
    proxyAllowIps: string,
    ...tls: TlsArgs
  ): void
  serverStop(): void
  /** Starts accepting on one more listening fd; returns its listener index. */
  serverAddListener(fd: number): number
  serverRemoveListener(index: number): void
  serverShutdown(): void
  serverConnections(): number
  respond(id: number, text: string, headerCount: number, body: string | Uint8Array | undefined, end: boolean): number
  write(id: number, chunk: string | Uint8Array): number
  /** Trailers are packed as respond packs headers, after an empty status. */
  end(id: number, text?: string, trailerCount?: number): number
  abort(id: number): void
  pauseBody(id: number, paused: boolean): void
  /** The connection leaves HTTP: raw bytes both ways from here (an upgrade). */
  detach(id: number): void
  /** An interim response (103 Early Hints), packed as respond packs a head. */
  inform(id: number, text: string, headerCount: number): void
}

const require = createRequire(import.meta.url)

/** The platform as napi-rs names binaries and packages: linux-x64-gnu, darwin-arm64, ... */
function detectedPlatform(): string {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`
  // glibc reports its version in the header; musl does not (one of binding.cjs's own checks).
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header
  return `${process.platform}-${process.arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`
}

function load(): Binding {
  if (process.platform === 'win32') {
    throw new Error('ugn runs on Linux and macOS only: its pre-fork model needs POSIX processes and signals')
  }
  try {
    return require('../binding.cjs') as Binding
  } catch (err) {
    // binding.cjs ends with "Cannot find native binding" and a hint about an npm bug; a user
    // needs to know which binary was looked for and which platforms have one.
    const platform = detectedPlatform()
    const pkg = require('../package.json') as {
      napi: { binaryName: string; packageName: string }
      optionalDependencies?: Record<string, string>
    }
    const packages = Object.keys(pkg.optionalDependencies ?? {})
    const wanted = `${pkg.napi.packageName}-${platform}`
    const error = new Error(
      `ugn could not load its native binary for ${platform} (${pkg.napi.binaryName}.${platform}.node, ` +
        `from a local build or the package ${wanted}). ` +
        // The platform packages are optional dependencies of the published package only.
        (packages.length === 0
          ? 'In a source checkout, build it with a Rust toolchain (npm run build).'
          : `Prebuilt packages exist for: ${packages.join(', ')}. ` +
            (packages.includes(wanted)
              ? `Reinstall ugn so that npm installs ${wanted}, an optional dependency it may have skipped.`
              : 'On another platform, build from source with a Rust toolchain (npm run build).')),
    )
    error.cause = err
    throw error
  }
}

export const native: Binding = load()
