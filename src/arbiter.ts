// The master process, after Gunicorn's arbiter: it binds the listeners, keeps `workers`
// worker processes alive, and reacts to signals one at a time from a queue in its main loop.
// It never serves a request itself.

import { renameSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { APP_LOAD_ERROR, BOOT_ENV, WORKER_BOOT_ERROR, type WorkerBoot } from './boot.js'
import type { Config } from './config/settings.js'
import { type ControlReply, type ControlRequest, ControlServer, type MasterStatus } from './control.js'
import { handOver, takeOver } from './handover.js'
import { type Hooks, runHook } from './hooks.js'
import { describe, log, logFd, setLogFile, setLogFormat, setLogLevel } from './log.js'
import { RESTART_REASONS, type MetricsSnapshot, type RestartReason, serveMetrics } from './metrics.js'
import { native, type ListenerInfo } from './native.js'
import { Reloader } from './reloader.js'
import { WorkerSlots } from './slots.js'
import { parseStatsdHost, Statsd } from './statsd.js'
import { activatedSockets } from './systemd.js'
import { VERSION } from './version.js'
import { addCounts, closeStats, emptyCounts, EXIT_MAX_REQUESTS, openStatsFile, readCounts, type WorkerCounts } from './worker-stats.js'

const WORKER_ENTRY = fileURLToPath(new URL('./worker.js', import.meta.url))
/** How long the main loop sleeps when no signal wakes it. */
const LOOP_INTERVAL_MS = 1000
const STOP_POLL_MS = 100
const SIGKILL = 9
/** How an upgraded master learns its predecessor (its sockets: handover.ts). */
const UPGRADE_PID_ENV = 'UGN_MASTER_PID'

/** Signals the master queues and handles in its loop; CHLD is handled as it arrives. */
const QUEUED_SIGNALS = ['SIGHUP', 'SIGQUIT', 'SIGINT', 'SIGTERM', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const
type QueuedSignal = (typeof QUEUED_SIGNALS)[number]
/** What the control socket queues besides signals: a new worker count. */
interface ScaleTo {
  workers: number
}

/** What hooks are told about a worker. */
export interface WorkerInfo {
  pid: number
  age: number
}

/** The master's own record of a worker: its heartbeat pipe and when it was last heard. */
interface Tracked extends WorkerInfo {
  heartbeat: number
  lastBeat: number
  aborted: boolean
  /** When it was spawned (Date.now()). */
  born: number
  /** The file it reports its counters in, when the master reads them. */
  stats: number | undefined
  /** Stopped on purpose: retired by a smaller worker count, or replaced by a reload. */
  retired?: boolean
  replaced?: boolean
}

/** How long a worker's SIGABRT may take before SIGKILL follows, as Gunicorn's next loop turn. */
const ABORT_GRACE_MS = 1000

/** A resolved configuration: what the arbiter runs. */
export interface Loaded {
  app: string
  cfg: Config
  hooks: Hooks
  configFile: string | null
}

/** Why the main loop ends: the exit status, whether workers may finish their requests,
 * and for a halt, the reason. */
interface Stop {
  status: number
  graceful: boolean
  reason?: string
}

export class Arbiter {
  private readonly workers = new Map<number, Tracked>()
  private readonly signalQueue: (QueuedSignal | ScaleTo)[] = []
  private listeners: ListenerInfo[] = []
  private slots = new WorkerSlots([])
  private workerAge = 0
  private numWorkers: number
  private wake: (() => void) | undefined
  private halted: Stop | undefined
  private readonly handlers = new Map<string, () => void>()
  private reloader: Reloader | undefined
  /** The master this one upgrades (USR2), until promoted. */
  private oldMaster = process.env[UPGRADE_PID_ENV] ? Number(process.env[UPGRADE_PID_ENV]) : undefined
  /** The master this one started on USR2, while it runs. */
  private newMaster: number | undefined
  private readonly statsd: Statsd | undefined
  /** The worker count is logged (and sent as the gunicorn.workers gauge) when it changes, as Gunicorn does. */
  private loggedWorkers: number | undefined
  /** Whether workers report their counters (for --metrics-bind and the control socket). */
  private readonly collect: boolean
  /** The counters of workers gone, so totals never go back. */
  private readonly pastCounts = emptyCounts()
  private readonly restarts = Object.fromEntries(RESTART_REASONS.map((r) => [r, 0])) as Record<RestartReason, number>
  private metricsServer: Server | undefined
  private control: ControlServer | undefined
  /** An upgraded master binds the metrics address once its old master, which holds it, is gone. */
  private metricsPending = false
  private readonly startedAt = Date.now()

  app: string
  cfg: Config
  private hooks: Hooks
  private configFile: string | null

  /** `reloadConfig` resolves the configuration again, for HUP. */
  constructor(
    loaded: Loaded,
    private readonly reloadConfig?: () => Promise<Loaded>,
  ) {
    this.app = loaded.app
    this.cfg = loaded.cfg
    this.hooks = loaded.hooks
    this.configFile = loaded.configFile
    this.numWorkers = loaded.cfg.workers
    const statsd = loaded.cfg.statsd_host === null ? undefined : parseStatsdHost(loaded.cfg.statsd_host)
    this.statsd = statsd === undefined ? undefined : new Statsd(statsd, loaded.cfg.statsd_prefix, loaded.cfg.dogstatsd_tags)
    this.statsd?.countLogLines()
    this.collect = loaded.cfg.metrics_bind !== null || this.controlPath !== null
  }

  readonly pid = process.pid

  /** The workers now running, for hooks. */
  get workerInfo(): WorkerInfo[] {
    return [...this.workers.values()].map(({ pid, age }) => ({ pid, age }))
  }

  /** Runs until stopped; resolves to the process exit status. */
  async run(): Promise<number> {
    // As in Gunicorn, a failing on_starting or when_ready hook aborts the start.
    if (!(await runHook(this.hooks, 'on_starting', this))) return 1
    try {
      this.start()
      await this.startServices()
    } catch (err) {
      log.error((err as Error).message)
      this.closeServices()
      if (this.pidfile) rmSync(this.pidfile, { force: true })
      return 1
    }
    this.manageWorkers()
    let stop: Stop
    if (await runHook(this.hooks, 'when_ready', this)) {
      stop = await this.loop()
    } else {
      stop = { status: 1, graceful: true, reason: 'when_ready hook failed.' }
    }
    this.reloader?.close()
    await this.stop(stop.graceful)
    this.closeServices()
    log.info('Shutting down: Master')
    if (stop.reason) log.info(`Reason: ${stop.reason}`)
    this.uninstallSignals()
    if (this.pidfile) rmSync(this.pidfile, { force: true })
    await runHook(this.hooks, 'on_exit', this)
    return stop.status
  }

  /** The pid file, with Gunicorn's `.2` suffix while this master is a not yet promoted
   * upgrade of another. */
  private get pidfile(): string | null {
    const base = this.cfg.pidfile
    return base && this.oldMaster !== undefined ? `${base}.2` : base
  }

  private writePidfile(): void {
    const file = this.pidfile
    if (!file) return
    try {
      writeFileSync(file, `${process.pid}\n`)
    } catch (err) {
      throw new Error(`Cannot write the pid file ${file}: ${describe(err)}`)
    }
  }

  /** USR2: start a new master from the code installed now, handing it the listening sockets.
   * Both generations serve until the operator stops the old one (TERM) or the new one. */
  private upgrade(): void {
    if (this.newMaster !== undefined) {
      log.warning(`USR2 ignored: an upgraded master (pid ${this.newMaster}) is already running`)
      return
    }
    if (this.oldMaster !== undefined) {
      log.warning('USR2 ignored: this master is itself an upgrade not yet promoted')
      return
    }
    void runHook(this.hooks, 'pre_exec', this)
    const { fds, env } = handOver({ listeners: this.listeners.map((l) => l.fd), slots: this.slots.inheritable() })
    try {
      this.newMaster = native.spawnWorker(
        process.execPath,
        [...process.execArgv, ...process.argv.slice(1)],
        { ...env, [UPGRADE_PID_ENV]: String(process.pid) },
        fds,
        null,
      )
      log.info(`Upgrading: new master started with pid ${this.newMaster}`)
    } catch (err) {
      log.error(`Upgrade failed: ${(err as Error).message}`)
    }
  }

  /** An upgraded master becomes the master once its parent, the old master, is gone. */
  private maybePromote(): void {
    if (this.oldMaster === undefined || process.ppid === this.oldMaster) return
    const from = this.pidfile
    this.oldMaster = undefined
    delete process.env[UPGRADE_PID_ENV]
    if (from && this.cfg.pidfile) {
      try {
        renameSync(from, this.cfg.pidfile)
      } catch (err) {
        log.error(`Cannot move the pid file to ${this.cfg.pidfile}: ${(err as Error).message}`)
      }
    }
    process.title = `ugn: master [${this.cfg.proc_name ?? this.app}]`
    log.info('Master has been promoted.')
    this.reclaimServices()
  }

  /** Settings that act on the master process itself, and through it on every worker. */
  private applyProcessSettings(): void {
    const cfg = this.cfg
    process.chdir(cfg.chdir)
    process.umask(cfg.umask)
    for (const pair of cfg.raw_env) {
      const at = pair.indexOf('=')
      process.env[pair.slice(0, at)] = pair.slice(at + 1)
    }
    process.title = `ugn: master [${cfg.proc_name ?? this.app}]${this.oldMaster !== undefined ? '.2' : ''}`
    setLogLevel(cfg.loglevel)
    setLogFormat(cfg.log_format)
  }

  private start(): void {
    const cfg = this.cfg
    this.applyProcessSettings()
    log.info(`Starting ugn ${VERSION}`)
    this.bindListeners()
    for (const l of this.listeners) log.info(`Listening at: ${l.url} (${process.pid})`)
    log.info(`Using worker: ${cfg.worker_class}`)
    this.writePidfile()
    this.installSignals()
    if (cfg.reload) {
      this.reloader = new Reloader(cfg.chdir, cfg.reload_extra_files, (files) => {
        log.info(`Worker reloading: ${files.map((f) => path.relative(cfg.chdir, f)).join(', ')} modified`)
        this.replaceWorkers()
      })
    }
  }

  /** What the master serves besides the workers' listeners: the metrics endpoint and the
   * control socket. */
  private async startServices(): Promise<void> {
    try {
      await this.startMetrics()
    } catch (err) {
      if (this.oldMaster === undefined || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw new Error(`Cannot serve metrics at ${this.cfg.metrics_bind}: ${describe(err)}`)
      }
      log.info(`Metrics at ${this.cfg.metrics_bind} are served by the old master until this one is promoted`)
      this.metricsPending = true
    }
    await this.openControl()
  }

  private async startMetrics(): Promise<void> {
    const bind = this.cfg.metrics_bind
    if (bind === null) return
    const address = parseStatsdHost(bind, 0) as { host: string; port: number }
    const { server, url } = await serveMetrics(address.host, address.port, () => this.metrics())
    this.metricsServer = server
    log.info(`Metrics at: ${url}`)
  }

  private async openControl(): Promise<void> {
    const control = this.controlPath
    if (control === null) return
    try {
      // An upgraded master (USR2) takes the path over from its old master.
      this.control = await ControlServer.listen(control, (req) => this.controlCommand(req), this.oldMaster !== undefined)
      log.info(`Control socket at: ${control}`)
    } catch (err) {
      throw new Error(`Cannot open the control socket ${control}: ${(err as Error).message}`)
    }
  }

  /** After an upgrade ends: the promoted master takes the metrics address, and an old master
   * whose upgrade exited takes back the control socket path the upgrade had taken over. */
  private reclaimServices(): void {
    if (this.metricsPending && this.oldMaster === undefined) {
      this.metricsPending = false
      this.startMetrics().catch((err: unknown) => log.error(`Cannot serve metrics at ${this.cfg.metrics_bind}: ${describe(err)}`))
    }
    if (this.control !== undefined && !this.control.own && this.newMaster === undefined) {
      this.control.close()
      this.control = undefined
      this.openControl().catch((err: unknown) => log.error((err as Error).message))
    }
  }

  /** A command from the control socket: status is answered at once, the others are queued
   * for the main loop like the signals they stand for. */
  private async controlCommand(req: ControlRequest): Promise<ControlReply> {
    const queue = (entry: QueuedSignal | ScaleTo, message: string): ControlReply => {
      log.info(`Control socket: ${req.command}${req.args.length > 0 ? ` ${req.args.join(' ')}` : ''}`)
      this.signalQueue.push(entry)
      this.wakeup()
      return { ok: true, message }
    }
    switch (req.command) {
      case 'status':
        return { ok: true, status: this.status() }
      case 'workers': {
        const count = /^\d+$/.test(req.args[0] ?? '') ? Number(req.args[0]) : NaN
        if (!(count >= 1 && count <= 10_000)) return { ok: false, error: `workers takes a count from 1 to 10000, not ${JSON.stringify(req.args[0] ?? '')}` }
        return queue({ workers: count }, `workers: ${this.numWorkers} -> ${count}`)
      }
      case 'reload':
        return queue('SIGHUP', 'reloading (as HUP)')
      case 'reopen-logs':
        return queue('SIGUSR1', 'reopening the logs (as USR1)')
      case 'shutdown':
        return req.args[0] === 'graceful'
          ? queue('SIGTERM', 'shutting down gracefully (as TERM)')
          : queue('SIGINT', 'shutting down (as INT)')
      default:
        return { ok: false, error: `unknown command ${JSON.stringify(req.command)}: status, workers N, reload, reopen-logs, shutdown [graceful]` }
    }
  }

  private status(): MasterStatus {
    const { live } = this.counts()
    const now = Date.now()
    return {
      pid: process.pid,
      app: this.app,
      uptime: (now - this.startedAt) / 1000,
      target: this.numWorkers,
      workers: [...this.workers.values()]
        .sort((a, b) => a.age - b.age)
        .map((w) => {
          const counts = live.get(w.pid)
          return { pid: w.pid, age: (now - w.born) / 1000, requests: counts?.requests ?? 0, inFlight: counts?.inFlight ?? 0, rss: counts?.rss ?? 0 }
        }),
    }
  }

  /** The control socket to open, if any. */
  private get controlPath(): string | null {
    return this.cfg.control_socket_disable ? null : this.cfg.control_socket
  }

  private closeServices(): void {
    this.control?.close()
    this.control = undefined
    this.metricsServer?.close()
    this.metricsServer?.closeAllConnections()
    this.metricsServer = undefined
  }

  /** Every worker's last report: the live ones' as they stand, and the exited ones' totals. */
  private counts(): { total: WorkerCounts; live: Map<number, WorkerCounts> } {
    const total = emptyCounts()
    addCounts(total, this.pastCounts)
    const live = new Map<number, WorkerCounts>()
    for (const worker of this.workers.values()) {
      if (worker.stats === undefined) continue
      const counts = readCounts(worker.stats)
      addCounts(total, counts)
      live.set(worker.pid, counts)
    }
    return { total, live }
  }

  private metrics(): MetricsSnapshot {
    const { total, live } = this.counts()
    let inFlight = 0
    for (const counts of live.values()) inFlight += counts.inFlight
    return {
      counts: total,
      inFlight,
      restarts: { ...this.restarts },
      workers: [...live].map(([pid, counts]) => ({ pid, rss: counts.rss })),
    }
  }

  /** Binds the configured addresses, or serves sockets it was given instead: after a USR2
   * upgrade the old master's, its worker slots included, or systemd's. */
  private bindListeners(): void {
    const cfg = this.cfg
    const inherited = takeOver()
    const activated = activatedSockets()
    if (activated && !inherited) log.info(`Serving ${activated.length} socket(s) from systemd socket activation; bind is not used`)
    const given = inherited?.listeners ?? activated
    const binds = given ? given.map((fd) => `fd://${fd}`) : cfg.bind
    this.listeners = native.bindListeners(binds, cfg.backlog, cfg.reuse_port, cfg.umask)
    this.slots = new WorkerSlots(this.listeners)
    if (inherited) this.slots.adopt(inherited.slots)
  }

  private async loop(): Promise<Stop> {
    for (;;) {
      if (this.halted) return this.halted
      const sig = this.signalQueue.shift()
      if (typeof sig === 'object') {
        this.setWorkerCount(sig.workers)
        continue
      }
      if (sig === undefined) {
        await this.sleep(LOOP_INTERVAL_MS)
        this.maybePromote()
        this.reapNewMaster()
        this.murderWorkers()
        this.reapWorkers()
        this.manageWorkers()
        continue
      }
      log.info(`Handling signal: ${sig.slice(3).toLowerCase()}`)
      const stop = await this.handleSignal(sig)
      if (stop) return stop
    }
  }

  private async handleSignal(sig: QueuedSignal): Promise<Stop | undefined> {
    switch (sig) {
      case 'SIGHUP':
        await this.reload()
        return undefined
      case 'SIGUSR1':
        this.reopenLogs()
        return undefined
      case 'SIGUSR2':
        this.upgrade()
        return undefined
      case 'SIGWINCH':
        // As in Gunicorn: a daemon's workers stop gracefully and the master stays (HUP brings
        // them back); in a terminal, WINCH only means the window was resized.
        if (!this.cfg.daemon) {
          log.info('SIGWINCH ignored. Not daemonized')
          return undefined
        }
        this.numWorkers = 0
        for (const worker of this.workers.values()) worker.retired = true
        this.killWorkers('SIGTERM')
        return undefined
      case 'SIGTERM':
        return { status: 0, graceful: true }
      case 'SIGINT':
      case 'SIGQUIT':
        return { status: 0, graceful: false }
      case 'SIGTTIN':
        this.setWorkerCount(this.numWorkers + 1)
        return undefined
      case 'SIGTTOU':
        if (this.numWorkers > 1) this.setWorkerCount(this.numWorkers - 1)
        return undefined
      default:
        log.warning(`${sig} is not handled by this version of ugn; ignoring it`)
        return undefined
    }
  }

  private installSignals(): void {
    for (const sig of QUEUED_SIGNALS) {
      const handler = () => {
        if (this.signalQueue.length < 5) this.signalQueue.push(sig)
        this.wakeup()
      }
      this.handlers.set(sig, handler)
      process.on(sig, handler)
    }
    const onChild = () => {
      this.reapWorkers()
      this.reapNewMaster()
      this.wakeup()
    }
    this.handlers.set('SIGCHLD', onChild)
    process.on('SIGCHLD', onChild)
  }

  private uninstallSignals(): void {
    for (const [sig, handler] of this.handlers) process.off(sig, handler)
    this.handlers.clear()
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined
        resolve()
      }, ms)
      this.wake = () => {
        clearTimeout(timer)
        this.wake = undefined
        resolve()
      }
    })
  }

  private wakeup(): void {
    this.wake?.()
  }

  /** HUP: load the configuration and the app code afresh in new workers, then retire the
   * old workers gracefully. The listeners stay open throughout, so no connection is refused:
   * the kernel queues what arrives while the new workers boot. */
  private async reload(): Promise<void> {
    if (this.reloadConfig) {
      let next: Loaded
      try {
        next = await this.reloadConfig()
      } catch (err) {
        log.error(`Reload failed; keeping the current configuration: ${(err as Error).message}`)
        return
      }
      if (JSON.stringify(next.cfg.bind) !== JSON.stringify(this.cfg.bind) || next.cfg.reuse_port !== this.cfg.reuse_port) {
        log.warning('The new configuration changes bind or reuse_port; HUP keeps the current listeners (restart to change them)')
      }
      this.app = next.app
      this.cfg = { ...next.cfg, bind: this.cfg.bind, reuse_port: this.cfg.reuse_port }
      this.hooks = next.hooks
      this.configFile = next.configFile
      this.applyProcessSettings()
    }
    await runHook(this.hooks, 'on_reload', this)
    this.numWorkers = this.cfg.workers
    this.replaceWorkers()
  }

  /** Starts a full set of new workers; manageWorkers then retires the old ones, oldest first. */
  private replaceWorkers(): void {
    for (const worker of this.workers.values()) worker.replaced = true
    for (let i = 0; i < this.numWorkers; i++) this.spawnWorker()
    this.manageWorkers()
  }

  /** USR1: reopen the logs after logrotate moved them: the error log here, and the error and
   * access logs in every worker (only workers write access lines). */
  private reopenLogs(): void {
    try {
      setLogFile(this.cfg.errorlog)
    } catch (err) {
      log.error(`Cannot reopen the error log ${this.cfg.errorlog}: ${(err as Error).message}`)
    }
    this.killWorkers('SIGUSR1')
  }

  private setWorkerCount(count: number): void {
    const old = this.numWorkers
    this.numWorkers = count
    void runHook(this.hooks, 'nworkers_changed', this, count, old)
    this.manageWorkers()
  }

  /** Spawns or retires workers until their number matches the target. */
  private manageWorkers(): void {
    if (this.halted) return
    while (this.workers.size < this.numWorkers) this.spawnWorker()
    if (this.workers.size > this.numWorkers) {
      const oldest = [...this.workers.entries()].sort((a, b) => a[1].age - b[1].age)
      for (const [pid] of oldest.slice(0, this.workers.size - this.numWorkers)) this.retireWorker(pid)
    }
    const active = Math.min(this.workers.size, this.numWorkers)
    if (active !== this.loggedWorkers) {
      this.loggedWorkers = active
      log.debug(`${active} workers`)
      this.statsd?.gauge('gunicorn.workers', active)
    }
    this.slots.trim(this.numWorkers)
  }

  /** A graceful stop for good: the worker's slot closes unless another worker stays in it. */
  private retireWorker(pid: number): void {
    const worker = this.workers.get(pid)
    if (worker) worker.retired = true
    this.slots.retire(pid)
    this.killWorker(pid, 'SIGTERM')
  }

  private spawnWorker(): void {
    this.workerAge += 1
    const boot: WorkerBoot = {
      app: this.app,
      cwd: process.cwd(),
      config: this.cfg,
      configFile: this.configFile,
      listeners: this.listeners.map((l) => l.url),
      age: this.workerAge,
      stats: this.collect,
    }
    void runHook(this.hooks, 'pre_fork', this, { pid: 0, age: this.workerAge })
    const slot = this.slots.take(this.numWorkers)
    const [heartbeat, beater] = native.heartbeatPipe()
    const stats = this.collect ? openStatsFile() : undefined
    let pid: number
    try {
      pid = native.spawnWorker(
        process.execPath,
        [...process.execArgv, WORKER_ENTRY],
        { [BOOT_ENV]: JSON.stringify(boot) },
        [...this.slots.fds(slot), beater, ...(stats === undefined ? [] : [stats])],
        SIGKILL,
        this.cfg.capture_output ? logFd() : null,
      )
    } catch (err) {
      native.closeFd(heartbeat)
      if (stats !== undefined) closeStats(stats)
      throw err
    } finally {
      native.closeFd(beater)
    }
    const now = Date.now()
    this.workers.set(pid, { pid, age: this.workerAge, heartbeat, lastBeat: now, aborted: false, born: now, stats })
    this.slots.join(slot, pid)
  }

  /** Kills workers whose JavaScript thread has been silent for longer than the timeout:
   * SIGABRT first (the worker_abort hook may run), SIGKILL on the next turn. */
  private murderWorkers(): void {
    const now = Date.now()
    for (const worker of this.workers.values()) {
      if (native.drainHeartbeat(worker.heartbeat) > 0) worker.lastBeat = now
      if (this.cfg.timeout === 0 || now - worker.lastBeat <= this.cfg.timeout * 1000) continue
      if (!worker.aborted) {
        log.critical(`WORKER TIMEOUT (pid:${worker.pid})`)
        worker.aborted = true
        worker.lastBeat = now - this.cfg.timeout * 1000 + ABORT_GRACE_MS
        this.killWorker(worker.pid, 'SIGABRT')
      } else {
        this.killWorker(worker.pid, 'SIGKILL')
      }
    }
  }

  /** A new master that exited (a failed upgrade, or a rollback) is reaped like a worker. */
  private reapNewMaster(): void {
    if (this.newMaster === undefined) return
    const status = native.tryReap(this.newMaster)
    if (status === null) return
    log.info(`Upgraded master (pid:${this.newMaster}) exited${status.code != null ? ` with code ${status.code}` : ` on SIG${status.signal}`}`)
    this.newMaster = undefined
    this.reclaimServices()
  }

  /** Drops a worker that exited; returns its last report, if it made them. */
  private forget(worker: Tracked): WorkerCounts | undefined {
    this.workers.delete(worker.pid)
    this.slots.leave(worker.pid)
    native.closeFd(worker.heartbeat)
    if (worker.stats === undefined) return undefined
    const last = readCounts(worker.stats)
    addCounts(this.pastCounts, last)
    closeStats(worker.stats)
    return last
  }

  /** Why a worker that exited while the master runs is being replaced; undefined if it was
   * stopped for good. */
  private restartReason(worker: Tracked, last: WorkerCounts | undefined): RestartReason | undefined {
    if (worker.replaced) return 'reload'
    if (worker.retired) return undefined
    if (worker.aborted) return 'timeout'
    if (last?.exitReason === EXIT_MAX_REQUESTS) return 'max_requests'
    return 'crash'
  }

  private killWorker(pid: number, sig: string): void {
    try {
      if (!native.killProcess(pid, sig.replace(/^SIG/, ''))) {
        const worker = this.workers.get(pid)
        if (worker) this.forget(worker)
      }
    } catch (err) {
      log.warning(`Cannot send ${sig} to worker ${pid}: ${(err as Error).message}`)
    }
  }

  private killWorkers(sig: string): void {
    for (const pid of [...this.workers.keys()]) this.killWorker(pid, sig)
  }

  /** Collects exited workers; a worker that could not boot or load the app stops the master
   * instead of being respawned forever. */
  private reapWorkers(): void {
    for (const pid of [...this.workers.keys()]) {
      const status = native.tryReap(pid)
      if (status === null) continue
      const worker = this.workers.get(pid) as Tracked
      const last = this.forget(worker)
      const reason = this.restartReason(worker, last)
      if (reason !== undefined) this.restarts[reason]++
      void runHook(this.hooks, 'child_exit', this, { pid, age: worker.age })
      const code = status.code ?? undefined
      if (code === WORKER_BOOT_ERROR) this.halt(WORKER_BOOT_ERROR, 'Worker failed to boot.')
      else if (code === APP_LOAD_ERROR) this.halt(APP_LOAD_ERROR, 'App failed to load.')
      else if (code !== undefined && code > 0) log.error(`Worker (pid:${pid}) exited with code ${code}.`)
      else if (status.signal === 'KILL') log.error(`Worker (pid:${pid}) was sent SIGKILL! Perhaps out of memory?`)
      else if (status.signal) log.error(`Worker (pid:${pid}) was sent SIG${status.signal}!`)
    }
  }

  private halt(status: number, reason: string): void {
    this.halted ??= { status, graceful: true, reason }
    this.wakeup()
  }

  /** Stops every worker: TERM lets them finish in-flight requests (up to graceful_timeout),
   * QUIT stops them at once. Stragglers are killed. */
  private async stop(graceful: boolean): Promise<void> {
    // Socket files stay when an upgraded master keeps serving on them.
    native.closeListeners(this.newMaster === undefined)
    const deadline = Date.now() + this.cfg.graceful_timeout * 1000
    this.killWorkers(graceful ? 'SIGTERM' : 'SIGQUIT')
    while (this.workers.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS))
      this.reapQuietly()
    }
    if (this.workers.size > 0) {
      this.killWorkers('SIGKILL')
      while (this.workers.size > 0) {
        await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS))
        this.reapQuietly()
      }
    }
  }

  private reapQuietly(): void {
    for (const [pid, worker] of [...this.workers]) {
      if (native.tryReap(pid) === null) continue
      this.forget(worker)
      void runHook(this.hooks, 'child_exit', this, { pid, age: worker.age })
    }
  }
}
