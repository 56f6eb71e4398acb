// The master process, after Gunicorn's arbiter: it binds the listeners, keeps `workers`
// worker processes alive, and reacts to signals one at a time from a queue in its main loop.
// It never serves a request itself.

import { fileURLToPath } from 'node:url'

import { APP_LOAD_ERROR, BOOT_ENV, WORKER_BOOT_ERROR, type WorkerBoot } from './boot.js'
import type { Config } from './config/settings.js'
import { log } from './log.js'
import { native, type ListenerInfo } from './native.js'
import { VERSION } from './version.js'

const WORKER_ENTRY = fileURLToPath(new URL('./worker.js', import.meta.url))
/** How long the main loop sleeps when no signal wakes it. */
const LOOP_INTERVAL_MS = 1000
const STOP_POLL_MS = 100
const SIGKILL = 9

/** Signals the master queues and handles in its loop; CHLD is handled as it arrives. */
const QUEUED_SIGNALS = ['SIGHUP', 'SIGQUIT', 'SIGINT', 'SIGTERM', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const
type QueuedSignal = (typeof QUEUED_SIGNALS)[number]

interface Worker {
  age: number
}

/** Why the main loop ends: the exit status, whether workers may finish their requests,
 * and for a halt, the reason. */
interface Stop {
  status: number
  graceful: boolean
  reason?: string
}

export class Arbiter {
  private readonly workers = new Map<number, Worker>()
  private readonly signalQueue: QueuedSignal[] = []
  private listeners: ListenerInfo[] = []
  private workerAge = 0
  private numWorkers: number
  private wake: (() => void) | undefined
  private halted: Stop | undefined
  private readonly handlers = new Map<string, () => void>()

  constructor(
    private readonly app: string,
    private readonly cfg: Config,
  ) {
    this.numWorkers = cfg.workers
  }

  /** Runs until stopped; resolves to the process exit status. */
  async run(): Promise<number> {
    try {
      this.start()
    } catch (err) {
      log.error((err as Error).message)
      return 1
    }
    this.manageWorkers()
    const stop = await this.loop()
    await this.stop(stop.graceful)
    log.info('Shutting down: Master')
    if (stop.reason) log.info(`Reason: ${stop.reason}`)
    this.uninstallSignals()
    return stop.status
  }

  private start(): void {
    log.info(`Starting ugn ${VERSION}`)
    this.listeners = native.bindListeners(this.cfg.bind, this.cfg.backlog, this.cfg.reuse_port)
    for (const l of this.listeners) log.info(`Listening at: ${l.url} (${process.pid})`)
    log.info(`Using worker: ${this.cfg.worker_class}`)
    this.installSignals()
  }

  private async loop(): Promise<Stop> {
    for (;;) {
      if (this.halted) return this.halted
      const sig = this.signalQueue.shift()
      if (sig === undefined) {
        await this.sleep(LOOP_INTERVAL_MS)
        this.reapWorkers()
        this.manageWorkers()
        continue
      }
      log.info(`Handling signal: ${sig.slice(3).toLowerCase()}`)
      const stop = this.handleSignal(sig)
      if (stop) return stop
    }
  }

  private handleSignal(sig: QueuedSignal): Stop | undefined {
    switch (sig) {
      case 'SIGTERM':
        return { status: 0, graceful: true }
      case 'SIGINT':
      case 'SIGQUIT':
        return { status: 0, graceful: false }
      case 'SIGTTIN':
        this.numWorkers += 1
        this.manageWorkers()
        return undefined
      case 'SIGTTOU':
        if (this.numWorkers > 1) this.numWorkers -= 1
        this.manageWorkers()
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

  /** Spawns or retires workers until their number matches the target. */
  private manageWorkers(): void {
    if (this.halted) return
    while (this.workers.size < this.numWorkers) this.spawnWorker()
    if (this.workers.size > this.numWorkers) {
      const oldest = [...this.workers.entries()].sort((a, b) => a[1].age - b[1].age)
      for (const [pid] of oldest.slice(0, this.workers.size - this.numWorkers)) this.killWorker(pid, 'SIGTERM')
    }
  }

  private spawnWorker(): void {
    this.workerAge += 1
    const boot: WorkerBoot = {
      app: this.app,
      cwd: process.cwd(),
      config: this.cfg,
      listeners: this.listeners.map((l) => l.url),
      age: this.workerAge,
    }
    const pid = native.spawnWorker(
      process.execPath,
      [...process.execArgv, WORKER_ENTRY],
      { [BOOT_ENV]: JSON.stringify(boot) },
      this.listeners.map((l) => l.fd),
      SIGKILL,
    )
    this.workers.set(pid, { age: this.workerAge })
  }

  private killWorker(pid: number, sig: string): void {
    try {
      if (!native.killProcess(pid, sig.replace(/^SIG/, ''))) this.workers.delete(pid)
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
      this.workers.delete(pid)
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
    native.closeListeners(true)
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
    for (const pid of [...this.workers.keys()]) {
      if (native.tryReap(pid) !== null) this.workers.delete(pid)
    }
  }
}
