#!/usr/bin/env node
// `ugn [OPTIONS] MODULE[:ATTR]`: the command line, generated from the settings registry.

import { Command, Option } from 'commander'

import { Arbiter } from './arbiter.js'
import { type Config, defaults, type Setting, SettingError, settings } from './config/settings.js'
import { setLogLevel } from './log.js'
import { VERSION } from './version.js'

/** Usage errors exit with 2, as Gunicorn's argparse does. */
const USAGE_ERROR = 2

function optionFor(s: Setting): Option {
  const flags = s.flags.join(', ') + (s.kind === 'bool' ? '' : ` <${s.meta ?? 'VALUE'}>`)
  const option = new Option(flags, s.help).helpGroup(`${s.section}:`)
  const fallback = s.default()
  // A repeated flag collects its values; the first one replaces the default instead of adding to it.
  if (s.kind === 'list') {
    option.argParser((value: string, previous: unknown) => (previous === fallback ? [value] : [...(previous as string[]), value]))
  }
  if (s.choices) option.choices(s.choices)
  if (s.kind !== 'bool') option.default(fallback, s.defaultText ?? (Array.isArray(fallback) ? fallback.join(' ') : String(fallback)))
  return option
}

export function buildProgram(): Command {
  const program = new Command('ugn')
    .usage('[OPTIONS] MODULE[:ATTR]')
    .description('A pre-fork HTTP server for Node.js with a Rust core.')
    .version(VERSION, '-v, --version', 'Show the version and exit.')
    .helpOption('-h, --help', 'Show this help and exit.')
    .argument('<APP>', 'The app to serve: a module path or package name, then optionally :ATTR (default app, then the default export) or :factory(args).')
    .showHelpAfterError('(run ugn --help for the list of options)')
    .configureOutput({ outputError: (text, write) => write(text.startsWith('error:') ? `ugn: ${text}` : text) })
  for (const s of Object.values(settings) as Setting[]) program.addOption(optionFor(s))
  return program
}

/** Turns parsed option values into a checked configuration, naming any bad setting. */
export function toConfig(program: Command): Config {
  const cfg = defaults() as Record<string, unknown>
  const values = program.opts()
  for (const [key, s] of Object.entries(settings) as [string, Setting][]) {
    // Commander names each value after the option's flags; ask it rather than guess.
    const raw = values[optionFor(s).attributeName()]
    if (raw !== undefined) cfg[key] = s.parse(raw, s.name)
  }
  return cfg as Config
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram()
  program.exitOverride()
  try {
    program.parse(argv)
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode ?? USAGE_ERROR
    return code === 0 ? 0 : USAGE_ERROR
  }
  let cfg: Config
  try {
    cfg = toConfig(program)
  } catch (err) {
    if (!(err instanceof SettingError)) throw err
    process.stderr.write(`ugn: error: ${err.message}\n`)
    return USAGE_ERROR
  }
  setLogLevel(cfg.log_level)
  return new Arbiter(program.args[0], cfg).run()
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`ugn: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  },
)
