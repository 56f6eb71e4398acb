// The control socket (--control-socket PATH): a Unix socket on the master, mode 0600, that
// `ugn ctl` talks to. One request per connection: the client writes one line of JSON,
// {"command": NAME, "args": [...]}, and reads one line back, {"ok": true, ...} or
// {"ok": false, "error": TEXT}, before the master closes the connection.

import { chmodSync, lstatSync, unlinkSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface ControlRequest {
  command: string
  args: string[]
}

export type ControlReply = { ok: true; [key: string]: unknown } | { ok: false; error: string }

/** A request line longer than this is refused: every command fits in a few dozen bytes. */
const MAX_REQUEST = 4096

/** What a worker shows in `status`. */
export interface WorkerStatus {
  pid: number
  /** Seconds since it was spawned. */
  age: number
  requests: number
  inFlight: number
  rss: number
}

export interface MasterStatus {
  pid: number
  app: string
  /** Seconds since the master started. */
  uptime: number
  /** The worker count the master keeps (TTIN, TTOU and `workers N` change it). */
  target: number
  workers: WorkerStatus[]
}

/** Whether something answers on the Unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export class ControlServer {
  private constructor(
    readonly path: string,
    private readonly server: Server,
    /** The socket file's inode, so a master removes only its own file. */
    private readonly ino: number,
  ) {}

  /**
   * Listens at `path`, mode 0600 from the start (the umask is narrowed around the bind).
   * A stale socket file is replaced; a live one is another master's, and is refused unless
   * `takeOver` (a USR2 upgrade replacing its old master). Anything else at `path` is refused.
   */
  static async listen(path: string, handle: (req: ControlRequest) => Promise<ControlReply>, takeOver: boolean): Promise<ControlServer> {
    let existing
    try {
      existing = lstatSync(path)
    } catch {}
    if (existing !== undefined) {
      if (!existing.isSocket()) throw new Error(`${path} exists and is not a socket; not replacing it`)
      if (!takeOver && (await answers(path))) throw new Error(`another master is already listening on ${path}`)
      unlinkSync(path)
    }
    const server = createServer((socket) => serve(socket, handle))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      const umask = process.umask(0o177)
      try {
        server.listen(path, () => {
          server.off('error', reject)
          resolve()
        })
      } finally {
        process.umask(umask)
      }
    })
    chmodSync(path, 0o600)
    return new ControlServer(path, server, lstatSync(path).ino)
  }

  /** Whether the path still leads to this server (an upgraded master may have taken it). */
  get own(): boolean {
    try {
      return lstatSync(this.path).ino === this.ino
    } catch {
      return false
    }
  }

  /** Stops listening and removes the socket file, unless another master has replaced it since. */
  close(): void {
    this.server.close()
    try {
      if (this.own) unlinkSync(this.path)
    } catch {}
  }
}

function serve(socket: Socket, handle: (req: ControlRequest) => Promise<ControlReply>): void {
  let buffered = ''
  let answered = false
  const reply = (r: ControlReply) => {
    answered = true
    socket.end(`${JSON.stringify(r)}\n`)
  }
  socket.setEncoding('utf8')
  socket.on('error', () => {})
  socket.setTimeout(5000, () => socket.destroy())
  socket.on('data', (chunk: string) => {
    if (answered) return
    buffered += chunk
    const end = buffered.indexOf('\n')
    if (end === -1) {
      if (buffered.length > MAX_REQUEST) reply({ ok: false, error: 'request too long' })
      return
    }
    let req: ControlRequest
    try {
      const parsed = JSON.parse(buffered.slice(0, end)) as Partial<ControlRequest>
      if (typeof parsed.command !== 'string') throw new Error('no command')
      req = { command: parsed.command, args: Array.isArray(parsed.args) ? parsed.args.map(String) : [] }
    } catch {
      reply({ ok: false, error: 'a request is one line of JSON: {"command": NAME, "args": [...]}' })
      return
    }
    handle(req).then(reply, (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }))
  })
}

/** A client-side failure, with the message `ugn ctl` prints. */
export class ControlError extends Error {}

/** Sends one request to the master at `path` and resolves to its reply. */
export function request(path: string, req: ControlRequest, timeout = 10_000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(path)
    let data = ''
    socket.setEncoding('utf8')
    socket.setTimeout(timeout, () => {
      socket.destroy()
      reject(new ControlError(`the master at ${path} did not answer within ${timeout / 1000} s`))
    })
    socket.once('connect', () => socket.write(`${JSON.stringify(req)}\n`))
    socket.on('data', (chunk: string) => (data += chunk))
    socket.once('end', () => {
      try {
        resolve(JSON.parse(data) as ControlReply)
      } catch {
        reject(new ControlError(`the master at ${path} sent no valid reply`))
      }
    })
    socket.once('error', (err: NodeJS.ErrnoException) => reject(new ControlError(explain(path, err))))
  })
}

/** What a connection error means for someone trying to reach a master. */
function explain(path: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `no master is running with the control socket ${path} (the file does not exist; start ugn with --control-socket ${path})`
    case 'ECONNREFUSED':
      return `no master is listening on ${path} (connection refused: the file is left from a master that is gone)`
    case 'EACCES':
    case 'EPERM':
      return `not permitted to use ${path} (the socket is mode 0600: run as the user that runs ugn, or as root)`
    case 'ENOTSOCK':
      return `${path} is not a socket`
    default:
      return `cannot reach the master at ${path}: ${err.message}`
  }
}
