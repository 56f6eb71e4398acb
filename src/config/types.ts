// The types a config file is written against: every setting as a config file may give it
// (optional, before validation, so `bind` may be one string or several) and every server hook
// with the arguments ugn passes it. A config file exports them by name or as its default export
// (src/config/file.ts reads both):
//
//   // ugn.config.mjs
//   import { defineConfig } from 'ugn'
//   export default defineConfig({ workers: 4, post_worker_init(worker) { ... } })
//
// or, without importing anything at run time:
//
//   /** @type {import('ugn').UserConfig} */
//   export default { workers: 4 }
//
// A setting added to src/config/settings.ts and not described below is still typed, with the
// type of its resolved value. __test__/types.spec.mjs checks that these names are exactly the
// settings a config file may set plus the hooks of src/hooks.ts, and that the objects ugn
// passes to hooks fit the interfaces below.

import type { Environ } from '../bridge/environ.js'
import type { Config, HEADER_MAPS, INTERFACES, LOG_FORMATS, LOG_LEVELS, PROXY_PROTOCOLS, WORKER_CLASSES } from './settings.js'

/** One value or several: a config file may give a single string where a list is expected. */
type OneOrMore<T> = T | T[]

/** What a hook may return: ugn waits for a promise before going on (pre_request and
 * post_request excepted, which never hold up a request). */
type HookResult = void | Promise<void>

/** A worker as the master sees it. In pre_fork its pid is still 0. */
export interface WorkerInfo {
  pid: number
  /** Counts up with every worker the master starts. */
  age: number
}

/** The master (arbiter), passed to the hooks that run in it. */
export interface ArbiterInfo {
  readonly pid: number
  /** The app spec, MODULE[:ATTR]. */
  app: string
  /** The effective settings. */
  cfg: Config
  /** The workers now running. */
  readonly workerInfo: WorkerInfo[]
}

/** A worker process, passed to the hooks that run in it. */
export interface WorkerProcess extends WorkerInfo {
  /** The app spec, MODULE[:ATTR]. */
  app: string
  /** The effective settings, as the master resolved them. */
  cfg: Config
}

/** Server hooks, as in Gunicorn. Workers are separate processes started with fork+exec, so the
 * hooks that run in a worker get `null` where Gunicorn passes the arbiter. */
export interface ServerHooks {
  /** In the master, before anything is bound; throwing stops ugn. */
  on_starting?: (arbiter: ArbiterInfo) => HookResult
  /** In the master, on HUP, after the configuration is read again. */
  on_reload?: (arbiter: ArbiterInfo) => HookResult
  /** In the master, once the listeners are bound and the first workers started; throwing stops ugn. */
  when_ready?: (arbiter: ArbiterInfo) => HookResult
  /** In the master, before a worker is started (its pid is 0 until then). */
  pre_fork?: (arbiter: ArbiterInfo, worker: WorkerInfo) => HookResult
  /** In the new worker, before it loads the app. */
  post_fork?: (arbiter: null, worker: WorkerProcess) => HookResult
  /** In the worker, once the app is loaded and the worker serves. */
  post_worker_init?: (worker: WorkerProcess) => HookResult
  /** In the worker, on INT or QUIT, before it exits. */
  worker_int?: (worker: WorkerProcess) => HookResult
  /** In the worker, on the master's SIGABRT after a timeout, if its thread can still run JavaScript. */
  worker_abort?: (worker: WorkerProcess) => HookResult
  /** In the old master on USR2, just before it starts the new one. */
  pre_exec?: (arbiter: ArbiterInfo) => HookResult
  /** In the worker, before the app is called for a request; not awaited. */
  pre_request?: (worker: WorkerProcess, environ: Environ) => HookResult
  /** In the worker, once a response is done, with its status line ('200 OK'), undefined if none was sent; not awaited. */
  post_request?: (worker: WorkerProcess, environ: Environ, status: string | undefined) => HookResult
  /** In the master, after a worker exited and was reaped. */
  child_exit?: (arbiter: ArbiterInfo, worker: WorkerInfo) => HookResult
  /** In the worker, just before it exits. */
  worker_exit?: (arbiter: null, worker: WorkerProcess) => HookResult
  /** In the master, when TTIN or TTOU changes the number of workers. */
  nworkers_changed?: (arbiter: ArbiterInfo, newValue: number, oldValue: number) => HookResult
  /** In the master, just before it exits. */
  on_exit?: (arbiter: ArbiterInfo) => HookResult
}

/** The settings only the command line sets. */
type CommandLineOnly = 'config' | 'check_config' | 'print_config'

/** The settings as a config file gives them, where that differs from the resolved value or
 * deserves a word. Strings given where a number or a boolean is expected are accepted at run
 * time, as on the command line, but not by these types. */
interface DescribedSettings {
  /** MODULE[:ATTR]; the command line's argument overrides it. */
  app?: string | null
  /** HOST, HOST:PORT, [IPV6]:PORT, unix:PATH or fd://FD. */
  bind?: OneOrMore<string>
  backlog?: number
  reuse_port?: boolean
  workers?: number
  worker_class?: (typeof WORKER_CLASSES)[number]
  interface?: (typeof INTERFACES)[number]
  worker_connections?: number
  /** Seconds without a heartbeat before a worker is killed; 0 disables. */
  timeout?: number
  max_requests?: number
  max_requests_jitter?: number
  /** Seconds. */
  graceful_timeout?: number
  /** Seconds; 0 disables keep-alive. */
  keepalive?: number
  /** Bytes; 0 means no limit. */
  limit_request_body?: number
  /** Seconds. */
  header_timeout?: number
  /** Seconds. */
  body_timeout?: number
  limit_request_line?: number
  limit_request_fields?: number
  limit_request_field_size?: number
  /** What to do with a header whose name holds an underscore. */
  header_map?: (typeof HEADER_MAPS)[number]
  /** Accept methods in lower case, with '#', or of unusual length. */
  permit_unconventional_http_method?: boolean
  chdir?: string
  daemon?: boolean
  pidfile?: string | null
  /** KEY=VALUE. */
  raw_env?: OneOrMore<string>
  /** A number (0o22) or a string in octal ('022', '0o22'), hex ('0x12') or decimal. */
  umask?: number | string
  /** A user name or uid. */
  user?: string | number | null
  /** A group name or gid. */
  group?: string | number | null
  /** IP addresses and networks, comma-separated or as an array, or '*'. */
  forwarded_allow_ips?: OneOrMore<string>
  /** { HEADER: 'value meaning https' }, or NAME=VALUE strings. */
  secure_scheme_headers?: Record<string, string> | OneOrMore<string>
  /** true means 'auto'. */
  proxy_protocol?: (typeof PROXY_PROTOCOLS)[number] | boolean
  /** IP addresses and networks, comma-separated or as an array, or '*'. */
  proxy_allow_ips?: OneOrMore<string>
  certfile?: string | null
  keyfile?: string | null
  ca_certs?: string | null
  /** 0 (none), 1 (optional) or 2 (required), or the name. */
  cert_reqs?: 0 | 1 | 2 | 'none' | 'optional' | 'required' | 'CERT_NONE' | 'CERT_OPTIONAL' | 'CERT_REQUIRED'
  /** IANA cipher suite names separated by colons or commas. */
  ciphers?: string | null
  proc_name?: string | null
  reload?: boolean
  reload_extra_files?: OneOrMore<string>
  preload_app?: boolean
  /** A file, or '-' for stdout; null for none. */
  accesslog?: string | null
  access_log_format?: string
  /** A file, or '-' for stderr. */
  errorlog?: string
  capture_output?: boolean
  /** HOST:PORT. */
  statsd_host?: string | null
  statsd_prefix?: string
  dogstatsd_tags?: string
  loglevel?: (typeof LOG_LEVELS)[number]
  /** JSON lines instead of Gunicorn's text, in the error and access logs. */
  log_format?: (typeof LOG_FORMATS)[number]
}

/** Every setting a config file may set, under its Gunicorn name; docs/settings.md says what each does. */
export type Settings = DescribedSettings & {
  [K in Exclude<keyof Config, CommandLineOnly | keyof DescribedSettings>]?: Config[K]
}

/** What a config file exports: settings and server hooks. */
export interface UserConfig extends Settings, ServerHooks {}

/** Returns its argument: it only gives an editor and TypeScript the type of a config file's
 * default export. */
export function defineConfig(config: UserConfig): UserConfig {
  return config
}
