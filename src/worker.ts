// A worker process: loads the app, serves the inherited listeners on its own event loop
// through the Rust engine, and stops gracefully on TERM or at once on INT/QUIT.

import { writeSync } from 'node:fs'

import { serveAs } from './adapters/select.js'
import { AccessLog } from './access-log.js'
import { AppImportError, AppLookupError, loadApp } from './app/load.js'
import { APP_LOAD_ERROR, BOOT_ENV, FIRST_INHERITED_FD, heartbeatFd, statsFd, WORKER_BOOT_ERROR, type WorkerBoot } from './boot.js'
import type { ServerAddress } from './bridge/environ.js'
import type { App } from './bridge/exchange.js'
import { createDispatcher, type RequestHooks } from './bridge/dispatcher.js'
import { FileWrapper } from './bridge/file-wrapper.js'
import { loadConfigFile } from './config/file.js'
import { engineOptions, engineTls, engineTrust } from './config/settings.js'
import { type Hooks, runHook } from './hooks.js'
import { describe, log, logFd, setLogFile, setLogFormat, setLogLevel } from './log.js'
import { native } from './native.js'
import { parseStatsdHost, Statsd } from './statsd.js'
import { EXIT_MAX_REQUESTS, WorkerStats } from './worker-stats.js'

const SHUTDOWN_POLL_MS = 50
const BEAT = Buffer.from('.')
const PARENT_CHECK_MS = 1000
/** How often the worker copies its counters where the master reads them. */
const STATS_REPORT_MS = 1000

function serverAddress(url: string): ServerAddress {
  if (url.startsWith('unix:')) return { name: url.slice('unix:'.length), port: '' }
  const { hostname, port } = new URL(url)
  return { name: hostname.replace(/^\[|\]$/g, ''), port }
}

async function loadOrExit(boot: WorkerBoot): Promise<App> {
  try {
    const served = await serveAs(await loadApp(boot.app, boot.cwd), boot.config.interface, boot.app)
    if (served.ambiguous !== undefined) log.warning(served.ambiguous)
    log.debug(`Serving ${boot.app} through the ${served.interface} interface (${served.reason})`)
    return served.app
  } catch (err) {
    if (err instanceof AppLookupError) {
      log.error(err.message)
      process.exit(APP_LOAD_ERROR)
    }
    // An AppImportError's message already holds the cause; its own stack is ugn's, not the app's.
    log.error(`Exception in worker process\n${err instanceof AppImportError ? err.message : describe(err)}`)
    process.exit(WORKER_BOOT_ERROR)
  }
}

/** What hooks are told about this worker. */
export interface WorkerSelf {
  pid: number
  age: number
  app: string
  cfg: WorkerBoot['config']
}

/** pre_request and post_request run on the request path: wrap them only when defined. */
function requestHooks(hooks: Hooks, self: WorkerSelf): RequestHooks {
  const guard = (name: 'pre_request' | 'post_request') => {
    const hook = hooks[name] as ((...a: unknown[]) => unknown) | undefined
    if (!hook) return undefined
    const report = (err: unknown) => log.error(`Exception in ${name} hook:\n${describe(err)}`)
    return (...args: unknown[]) => {
      try {
        const result = hook(self, ...args) as PromiseLike<unknown> | undefined
        // Not awaited (the request does not wait for it), but its failure is still reported.
        if (typeof result?.then === 'function') result.then(undefined, report)
      } catch (err) {
        report(err)
      }
    }
  }
  return { pre: guard('pre_request'), post: guard('post_request') }
}

/** Proves to the master, from this very thread, that the JavaScript thread is not stuck: a
 * handler in an endless loop stops these beats and the master kills the worker after
 * `timeout` seconds. The pipe is non-blocking, so a full pipe drops a beat instead of waiting. */
function startHeartbeat(fd: number, timeout: number): void {
  const every = Math.max(100, Math.min(1000, (timeout * 1000) / 4))
  const beat = () => {
    try {
      writeSync(fd, BEAT)
    } catch {}
  }
  beat()
  setInterval(beat, every).unref()
}

/** Drops root privileges the way Gunicorn's workers do: group first, then user. */
function switchUser(cfg: WorkerBoot['config']): void {
  try {
    if (cfg.group !== null) process.setgid?.(cfg.group)
    if (cfg.user !== null) process.setuid?.(cfg.user)
  } catch (err) {
    log.error(`Exception in worker process\nCannot switch to user ${cfg.user ?? '-'} / group ${cfg.group ?? '-'}: ${(err as Error).message}`)
    process.exit(WORKER_BOOT_ERROR)
  }
}

async function main(): Promise<void> {
  const boot = JSON.parse(process.env[BOOT_ENV] ?? 'null') as WorkerBoot | null
  if (boot === null) {
    process.stderr.write('ugn: the worker entry point is started by the ugn master, not by hand\n')
    process.exit(2)
  }
  delete process.env[BOOT_ENV]
  const cfg = boot.config
  setLogLevel(cfg.loglevel)
  setLogFormat(cfg.log_format)
  setLogFile(cfg.errorlog)
  // Opened before switching user, as the error log is; lines still buffered when the process
  // exits, however it exits, are written then.
  const accessLog = cfg.accesslog === null ? undefined : AccessLog.open(cfg.accesslog, cfg.access_log_format, cfg.log_format === 'json')
  if (accessLog !== undefined) process.on('exit', () => accessLog.flushSync())
  const statsdAddress = cfg.statsd_host === null ? undefined : parseStatsdHost(cfg.statsd_host)
  const statsd = statsdAddress === undefined ? undefined : new Statsd(statsdAddress, cfg.statsd_prefix, cfg.dogstatsd_tags)
  statsd?.countLogLines()
  process.title = `ugn: worker [${cfg.proc_name ?? boot.app}]`
  switchUser(cfg)
  log.info(`Booting worker with pid: ${process.pid}`)
  startHeartbeat(heartbeatFd(boot.listeners.length), cfg.timeout)
  const self: WorkerSelf = { pid: process.pid, age: boot.age, app: boot.app, cfg }
  let hooks: Hooks = {}
  if (boot.configFile !== null) {
    try {
      hooks = (await loadConfigFile(boot.configFile, boot.cwd)).hooks
    } catch (err) {
      log.error(`Exception in worker process\n${(err as Error).message}`)
      process.exit(WORKER_BOOT_ERROR)
    }
  }
  await runHook(hooks, 'post_fork', null, self)
  // The master sends SIGABRT to a worker it thinks is stuck. Without a worker_abort hook the
  // default action ends the process at once; with one, the hook runs if the thread can still
  // run JavaScript, and SIGKILL follows otherwise.
  if (hooks.worker_abort) {
    process.on('SIGABRT', async () => {
      await runHook(hooks, 'worker_abort', self)
      process.exit(1)
    })
  }

  const app = await loadOrExit(boot)
  const sync = cfg.worker_class === 'sync'
  const maxHeaders = cfg.limit_request_fields === 0 ? 32768 : cfg.limit_request_fields
  const stats = boot.stats ? new WorkerStats(statsFd(boot.listeners.length), () => dispatcher.inFlight()) : undefined
  const observer =
    stats === undefined || statsd === undefined
      ? (stats ?? statsd)
      : {
          request: (entry: Parameters<Statsd['request']>[0]) => {
            stats.request(entry)
            statsd.request(entry)
          },
        }
  const dispatcher = createDispatcher(
    boot.listeners.map(() => app),
    maxHeaders,
    { servers: boot.listeners.map(serverAddress), multiprocess: cfg.workers > 1, fileWrapper: FileWrapper },
    requestHooks(hooks, self),
    accessLog,
    observer,
  )
  stats?.start(STATS_REPORT_MS)
  const fds = Int32Array.from(boot.listeners, (_, i) => FIRST_INHERITED_FD + i)
  // The sync worker class: one connection at a time, no keep-alive.
  const options = engineOptions(sync ? { ...cfg, keepalive: 0, worker_connections: 1 } : cfg, maxHeaders)
  // max_requests: this worker's quota, spread by the jitter so workers do not all retire together.
  const quota = cfg.max_requests > 0 ? cfg.max_requests + Math.floor(Math.random() * (cfg.max_requests_jitter + 1)) : 0
  let served = 0
  const onRequest =
    quota === 0
      ? dispatcher.onRequest
      : (text: string, body: Buffer | undefined, trailers: string | undefined) => {
          dispatcher.onRequest(text, body, trailers)
          if (++served === quota) {
            log.info(`Autorestarting worker after current request (${served} requests served).`)
            stats?.exiting(EXIT_MAX_REQUESTS)
            retire()
          }
        }
  native.serverStart(fds, options, 'ugn', dispatcher.reqMeta, dispatcher.resMeta, onRequest, dispatcher.onEvent, ...engineTrust(cfg), ...engineTls(cfg))

  await runHook(hooks, 'post_worker_init', self)

  let stopping = false
  const exit = async () => {
    native.serverStop()
    log.info(`Worker exiting (pid: ${process.pid})`)
    await runHook(hooks, 'worker_exit', null, self)
    await accessLog?.flush()
    process.exit(0)
  }
  const quick = async () => {
    await runHook(hooks, 'worker_int', self)
    await exit()
  }
  // A graceful stop: no new connections, in-flight requests finish, then exit.
  function retire(): void {
    if (stopping) return
    stopping = true
    native.serverShutdown()
    // WebSockets and other upgraded connections get the graceful timeout to finish, less a
    // second to say goodbye before the master's SIGKILL.
    setTimeout(() => dispatcher.closeUpgraded(), Math.max(0, cfg.graceful_timeout * 1000 - 1000)).unref()
    const check = setInterval(() => {
      if (native.serverConnections() === 0 && dispatcher.inFlight() === 0) {
        clearInterval(check)
        void exit()
      }
    }, SHUTDOWN_POLL_MS)
  }
  process.on('SIGTERM', retire)
  process.on('SIGINT', quick)
  process.on('SIGQUIT', quick)
  // Reopening the log after rotation; a listener also keeps Node from starting its inspector.
  process.on('SIGUSR1', () => {
    try {
      setLogFile(cfg.errorlog)
      const fd = logFd()
      if (cfg.capture_output && fd !== null) native.redirectOutput(fd)
    } catch (err) {
      log.error(`Cannot reopen the error log ${cfg.errorlog}: ${(err as Error).message}`)
    }
    try {
      accessLog?.reopen()
    } catch (err) {
      log.error(`Cannot reopen the access log ${cfg.accesslog}: ${(err as Error).message}`)
    }
  })
  // Linux kills an orphaned worker through PR_SET_PDEATHSIG; elsewhere the worker notices it
  // was re-parented, as Gunicorn's workers do.
  const master = process.ppid
  setInterval(() => {
    if (process.ppid !== master) {
      log.info(`Parent changed, shutting down: ${process.pid}`)
      void exit()
    }
  }, PARENT_CHECK_MS).unref()
}

main().catch((err) => {
  log.error(`Exception in worker process\n${describe(err)}`)
  process.exit(WORKER_BOOT_ERROR)
})
