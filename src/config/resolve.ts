// Resolves the effective configuration, lowest precedence first, as Gunicorn does:
// defaults < config file < UGN_CMD_ARGS < command line.

import type { Command } from 'commander'

import type { Hooks } from '../hooks.js'
import { splitArgs } from './args.js'
import { findDefaultConfig, loadConfigFile } from './file.js'
import { checkHttp2, checkTls, type Config, defaults, type Setting, SettingError, settings } from './settings.js'

export const CMD_ARGS_ENV = 'UGN_CMD_ARGS'

export interface Resolved {
  cfg: Config
  hooks: Hooks
  /** The config file that was loaded, if any. */
  configFile: string | null
  /** The app spec: the command line's argument, else UGN_CMD_ARGS', else the config file's. */
  app: string | null
}

/** The values a parsed program got explicitly (not from defaults), keyed by setting name. */
export function explicitValues(program: Command, attributeOf: (s: Setting) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const values = program.opts()
  for (const [key, s] of Object.entries(settings) as [string, Setting][]) {
    const attribute = attributeOf(s)
    if (s.flags.length > 0 && program.getOptionValueSource(attribute) === 'cli') out[key] = values[attribute]
  }
  return out
}

export interface Layer {
  values: Record<string, unknown>
  app?: string
}

/** Applies the layers over the defaults, validating every value that is set. `where` names
 * the layer in error messages. */
export function merge(layers: Array<Layer & { where: string }>): Config {
  const cfg = defaults() as Record<string, unknown>
  for (const layer of layers) {
    for (const [key, raw] of Object.entries(layer.values)) {
      const s = (settings as Record<string, Setting>)[key]
      try {
        cfg[key] = s.parse(raw, s.name)
      } catch (err) {
        if (err instanceof SettingError && layer.where !== 'command line') {
          throw new SettingError(err.setting, `${err.message.replace(/^Invalid value for [^:]+: /, '')} (from ${layer.where})`)
        }
        throw err
      }
    }
  }
  return cfg as Config
}

export async function resolveConfig(
  cli: Layer,
  parseArgs: (argv: string[]) => Layer,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<Resolved> {
  let fromEnv: Layer = { values: {} }
  const cmdArgs = env[CMD_ARGS_ENV]
  if (cmdArgs !== undefined && cmdArgs.trim() !== '') {
    let words: string[]
    try {
      words = splitArgs(cmdArgs)
    } catch (err) {
      throw new SettingError(CMD_ARGS_ENV, (err as Error).message)
    }
    fromEnv = parseArgs(words)
  }
  const named = (cli.values.config ?? fromEnv.values.config) as string | undefined
  const configPath = named ?? findDefaultConfig(cwd)
  const file = configPath ? await loadConfigFile(configPath, cwd) : null
  const cfg = merge([
    ...(file ? [{ values: file.values, where: file.path }] : []),
    { values: fromEnv.values, where: CMD_ARGS_ENV },
    { values: cli.values, where: 'command line' },
  ])
  checkTls(cfg)
  checkHttp2(cfg)
  cfg.config = file?.path ?? null
  const app = cli.app ?? fromEnv.app ?? cfg.app
  return { cfg, hooks: file?.hooks ?? {}, configFile: file?.path ?? null, app }
}
