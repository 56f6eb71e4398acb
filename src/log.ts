// Error log lines in Gunicorn's default format, so existing log tooling parses them:
// [2026-11-23 08:18:58 +0000] [1234] [INFO] Listening at: http://127.0.0.1:8000 (1234)
// or, with --log-format json, one JSON object per line for log shippers:
// {"time":"2026-11-23T08:18:58.123Z","level":"info","pid":1234,"message":"Listening at: ..."}

import { closeSync, openSync, writeSync } from 'node:fs'

export type Level = 'debug' | 'info' | 'warning' | 'error' | 'critical'
export type LogFormat = 'text' | 'json'

const rank: Record<Level, number> = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 }

let threshold = rank.info
let json = false
/** Where lines go: stderr, or the file named by --error-logfile. */
let fd: number | null = null
/** Told of every warning, error, critical and exception, logged or below the level (statsd). */
let observer: ((kind: 'warning' | 'error' | 'critical' | 'exception') => void) | undefined

export function onLogLine(fn: typeof observer): void {
  observer = fn
}

export function setLogLevel(level: Level): void {
  threshold = rank[level]
}

export function setLogFormat(format: LogFormat): void {
  json = format === 'json'
}

/** Sends the log to a file, appended to; '-' keeps stderr. */
export function setLogFile(file: string): void {
  const previous = fd
  fd = file === '-' ? null : openSync(file, 'a')
  if (previous !== null) closeSync(previous)
}

/** The error log file's descriptor, null while the log goes to stderr. */
export function logFd(): number | null {
  return fd
}

/** Two digits, as dates in log lines have them. */
export function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

/** The local time zone's offset at `d`, as strftime's %z writes it: `+0100`. */
export function utcOffset(d: Date): string {
  const offset = -d.getTimezoneOffset()
  const abs = Math.abs(offset)
  return `${offset >= 0 ? '+' : '-'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
}

function timestamp(d: Date): string {
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${utcOffset(d)}`
  )
}

/** `exception` is an error's stack: after the message in text, a key of its own in JSON. */
function emit(level: Level, message: string, exception?: string): void {
  if (rank[level] < threshold) return
  const line = json
    ? `${JSON.stringify({ time: new Date().toISOString(), level, pid: process.pid, message, exception })}\n`
    : `[${timestamp(new Date())}] [${process.pid}] [${level.toUpperCase()}] ${exception === undefined ? message : `${message}\n${exception}`}\n`
  if (fd === null) process.stderr.write(line)
  else writeSync(fd, line)
}

export const log = {
  debug: (m: string) => emit('debug', m),
  info: (m: string) => emit('info', m),
  warning: (m: string) => {
    emit('warning', m)
    observer?.('warning')
  },
  error: (m: string) => {
    emit('error', m)
    observer?.('error')
  },
  critical: (m: string) => {
    emit('critical', m)
    observer?.('critical')
  },
  /** Logs an error with its stack, the way Gunicorn logs an exception. */
  exception: (m: string, err: unknown) => {
    emit('error', m, describe(err))
    observer?.('exception')
  },
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`
  return String(err)
}
