#!/usr/bin/env node
// `ugn [OPTIONS] MODULE[:ATTR]`: the command line, generated from the settings registry.

// First, so that an unsupported platform is told so before anything else loads.
import './platform.js'
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'

import { Command, CommanderError, Option } from 'commander'

import { serveAs } from './adapters/select.js'
import { AppLookupError, loadApp } from './app/load.js'
import { Arbiter, type Loaded } from './arbiter.js'
import { APP_LOAD_ERROR, WORKER_BOOT_ERROR } from './boot.js'
import { type Layer, resolveConfig, CMD_ARGS_ENV, explicitValues } from './config/resolve.js'
import { type Config, type Setting, SettingError, settings } from './config/settings.js'
import { runCtl } from './ctl.js'
import type { Hooks } from './hooks.js'
import { describe, setLogFile, setLogFormat, setLogLevel } from './log.js'
import { VERSION } from './version.js'

/** Usage errors exit with 2, as Gunicorn's argparse does. */
const USAGE_ERROR = 2

function optionFor(s: Setting): Option {
  const meta = s.meta ?? 'VALUE'
  const flags = s.flags.join(', ') + (s.kind === 'bool' ? '' : s.preset === undefined ? ` <${meta}>` : ` [${meta}]`)
  const option = new Option(flags, s.help).helpGroup(`${s.section}:`)
  if (s.preset !== undefined) option.preset(s.preset)
  // A --no-X flag is a setting of its own here, never commander's negation of --X.
  option.negate = false
  const fallback = s.default()
  // A repeated flag collects its values; the first one replaces the default instead of adding to it.
  if (s.kind === 'list') {
    option.argParser((value: string, previous: unknown) => (previous === fallback ? [value] : [...(previous as string[]), value]))
  }
  if (s.choices) option.choices(s.choices)
  if (s.kind !== 'bool') option.default(fallback, s.defaultText ?? (Array.isArray(fallback) ? fallback.join(' ') : String(fallback)))
  return option
}

const onCommandLine = (Object.values(settings) as Setting[]).filter((s) => s.flags.length > 0)
// Commander names each value after the option's flags; ask it rather than guess. Only the flags
// matter, so no default is computed here, where one read from a bad environment could not be
// reported as a usage error.
const attributes = new Map(onCommandLine.map((s) => [s, Object.assign(new Option(s.flags.join(', ')), { negate: false }).attributeName()]))

export function buildProgram(): Command {
  const program = new Command('ugn')
    .usage('[OPTIONS] [MODULE[:ATTR]]\n       ugn ctl [--socket PATH] status|workers N|reload|reopen-logs|shutdown [--graceful]')
    .description('A pre-fork HTTP server for Node.js with a Rust core.')
    .version(VERSION, '-v, --version', 'Show the version and exit.')
    .helpOption('-h, --help', 'Show this help and exit.')
    .argument(
      '[APP]',
      'The app to serve: a module path or package name, then optionally :ATTR (default app, then the default export) or :factory(args). May instead be set as app in the config file.',
    )
    .showHelpAfterError('(run ugn --help for the list of options)')
    .configureOutput({ outputError: (text, write) => write(text.startsWith('error:') ? `ugn: ${text}` : text) })
  for (const s of onCommandLine) program.addOption(optionFor(s))
  program.exitOverride()
  return program
}

function layerOf(program: Command): Layer {
  return { values: explicitValues(program, (s) => attributes.get(s) as string), app: program.args[0] }
}

function parseCmdArgs(words: string[]): Layer {
  const program = buildProgram().configureOutput({
    outputError: (text, write) => write(`ugn: ${CMD_ARGS_ENV}: ${text.replace(/^error: /, 'error: ')}`),
  })
  program.parse(words, { from: 'user' })
  return layerOf(program)
}

function printConfig(cfg: Config, hooks: Hooks): void {
  const names = Object.keys(cfg).sort()
  const width = Math.max(...names.map((n) => n.length), ...Object.keys(hooks).map((n) => n.length))
  for (const name of names) process.stdout.write(`${name.padEnd(width)} = ${JSON.stringify((cfg as Record<string, unknown>)[name])}\n`)
  for (const name of Object.keys(hooks).sort()) process.stdout.write(`${name.padEnd(width)} = <function>\n`)
}

async function checkConfig(app: string, cfg: Config): Promise<number> {
  try {
    const served = await serveAs(await loadApp(app, cfg.chdir), cfg.interface, app)
    if (served.ambiguous !== undefined) process.stderr.write(`ugn: warning: ${served.ambiguous}\n`)
    process.stdout.write(`${app}: the ${served.interface} interface (${served.reason})\n`)
    return 0
  } catch (err) {
    process.stderr.write(`ugn: error: ${err instanceof Error ? err.message : describe(err)}\n`)
    return 1
  }
}

/** Set in the environment of the detached copy of the master, so it does not detach again. */
const DAEMON_ENV = 'UGN_DAEMONIZED'

/** Restarts this command in a new session, detached from the terminal (exec, never a bare
 * fork of a running Node), and returns at once, as a daemon's launcher does. */
function daemonize(): number {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, [DAEMON_ENV]: '1' },
  })
  child.unref()
  return 0
}

async function main(argv: string[]): Promise<number> {
  // `ugn ctl ...` and its alias `ugn status` talk to a running master (src/ctl.ts).
  if (argv[2] === 'ctl') return runCtl(argv.slice(3))
  if (argv[2] === 'status') return runCtl(argv.slice(2))
  let program: Command
  let resolved
  const cwd = process.cwd()
  try {
    program = buildProgram()
    program.parse(argv)
    resolved = await resolveConfig(layerOf(program), parseCmdArgs, process.env, cwd)
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : USAGE_ERROR
    if (!(err instanceof SettingError)) throw err
    process.stderr.write(`ugn: error: ${err.message}\n`)
    return USAGE_ERROR
  }
  const { cfg, hooks, app, configFile } = resolved
  if (cfg.print_config) {
    printConfig(cfg, hooks)
    return 0
  }
  if (!app) {
    process.stderr.write('ugn: error: no app to serve: give MODULE[:ATTR], or set app in the config file\n')
    return USAGE_ERROR
  }
  if (cfg.check_config) return checkConfig(app, cfg)
  if (cfg.daemon && process.env[DAEMON_ENV] === undefined) return daemonize()
  setLogLevel(cfg.loglevel)
  setLogFormat(cfg.log_format)
  try {
    setLogFile(cfg.errorlog)
  } catch (err) {
    process.stderr.write(`ugn: error: cannot open the error log ${cfg.errorlog}: ${(err as Error).message}\n`)
    return 1
  }
  // Workers write the access log; opening it here reports a bad path once, before any binds.
  if (cfg.accesslog !== null && cfg.accesslog !== '-') {
    try {
      closeSync(openSync(cfg.accesslog, 'a'))
    } catch (err) {
      process.stderr.write(`ugn: error: cannot open the access log ${cfg.accesslog}: ${(err as Error).message}\n`)
      return 1
    }
  }
  if (cfg.preload_app) {
    try {
      await serveAs(await loadApp(app, cfg.chdir), cfg.interface, app)
    } catch (err) {
      process.stderr.write(`ugn: error: the app failed to load in the master (--preload):\n${(err as Error).message}\n`)
      return err instanceof AppLookupError ? APP_LOAD_ERROR : WORKER_BOOT_ERROR
    }
  }
  // HUP resolves everything again from the same command line, environment and directory.
  const reload = async (): Promise<Loaded> => {
    const next = await resolveConfig(layerOf(program), parseCmdArgs, process.env, cwd)
    if (!next.app) throw new Error('the new configuration names no app')
    return { ...next, app: next.app }
  }
  return new Arbiter({ app, cfg, hooks, configFile }, reload).run()
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`ugn: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  },
)
