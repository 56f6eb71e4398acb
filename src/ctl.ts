// `ugn ctl [--socket PATH] COMMAND`: talks to a running master through its control socket
// (src/control.ts). `ugn status` is `ugn ctl status`.

import { Command, CommanderError } from 'commander'

import { type ControlReply, ControlError, type MasterStatus, request } from './control.js'

/** The socket when --socket is not given. */
export const CONTROL_SOCKET_ENV = 'UGN_CONTROL_SOCKET'

/** `3m04s`, `2h05m`, `3d04h`: an age in one short word. */
function duration(seconds: number): string {
  const s = Math.floor(seconds)
  const two = (n: number) => String(n).padStart(2, '0')
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`
  return `${Math.floor(s / 86400)}d${two(Math.floor(s / 3600) % 24)}h`
}

function bytes(n: number): string {
  if (n === 0) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}

/** The status as one screen: a line about the master, then a row per worker. */
export function statusTable(status: MasterStatus): string {
  const rows = [['PID', 'AGE', 'REQUESTS', 'IN FLIGHT', 'RSS']]
  for (const w of status.workers) rows.push([String(w.pid), duration(w.age), String(w.requests), String(w.inFlight), bytes(w.rss)])
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  const lines = rows.map((r) => r.map((cell, i) => (i === 0 || i === 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd())
  const head =
    `master ${status.pid}, up ${duration(status.uptime)}, serving ${status.app}: ` +
    `${status.workers.length} worker${status.workers.length === 1 ? '' : 's'} (target ${status.target})`
  return `${head}\n${lines.join('\n')}\n`
}

export function buildCtl(): Command {
  const program = new Command('ugn ctl')
    .description('Control a running ugn master through its control socket (--control-socket).')
    .option('-s, --socket <PATH>', `the master's control socket (default: $${CONTROL_SOCKET_ENV})`)
    .helpOption('-h, --help', 'Show this help and exit.')
    .showHelpAfterError('(run ugn ctl --help for the commands)')
    .configureOutput({ outputError: (text, write) => write(text.startsWith('error:') ? `ugn ctl: ${text}` : text) })
    .exitOverride()
  program.command('status').description('One line about the master, then a row per worker: pid, age, requests served, in flight, RSS.').option('--json', 'print the status as JSON')
  program.command('workers').description('Run N workers from now on (as TTIN/TTOU, in one step).').argument('<N>', 'the worker count, 1 or more')
  program.command('reload').description('Reload the configuration and the app in new workers, as HUP does.')
  program.command('reopen-logs').description('Reopen the log files, as USR1 does.')
  program.command('shutdown').description('Stop the master and its workers at once (as INT), or with --graceful let requests finish (as TERM).').option('--graceful', 'let in-flight requests finish, as TERM')
  for (const sub of program.commands) sub.helpOption('-h, --help', 'Show this help and exit.').exitOverride()
  return program
}

/** Runs `ugn ctl` with `args` (what follows `ctl`); resolves to the exit status. */
export async function runCtl(args: string[]): Promise<number> {
  const program = buildCtl()
  let chosen: { name: string; args: string[]; opts: Record<string, unknown> } | undefined
  for (const sub of program.commands) {
    sub.action((...params: unknown[]) => {
      const command = params[params.length - 1] as Command
      chosen = { name: command.name(), args: command.args, opts: command.opts() }
    })
  }
  try {
    program.parse(args, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
    throw err
  }
  if (chosen === undefined) {
    program.outputHelp({ error: true })
    return 2
  }
  const socket = (program.opts().socket as string | undefined) ?? process.env[CONTROL_SOCKET_ENV]
  if (!socket) {
    process.stderr.write(`ugn ctl: error: no control socket: give --socket PATH or set ${CONTROL_SOCKET_ENV} (the master's --control-socket)\n`)
    return 2
  }
  const commandArgs = chosen.name === 'shutdown' && chosen.opts.graceful ? ['graceful'] : chosen.args
  let reply: ControlReply
  try {
    reply = await request(socket, { command: chosen.name, args: commandArgs })
  } catch (err) {
    if (!(err instanceof ControlError)) throw err
    process.stderr.write(`ugn ctl: error: ${err.message}\n`)
    return 1
  }
  if (!reply.ok) {
    process.stderr.write(`ugn ctl: error: ${reply.error}\n`)
    return 1
  }
  if (chosen.name === 'status') {
    const status = reply.status as MasterStatus
    process.stdout.write(chosen.opts.json ? `${JSON.stringify(status, null, 2)}\n` : statusTable(status))
  } else {
    process.stdout.write(`${String(reply.message)}\n`)
  }
  return 0
}
