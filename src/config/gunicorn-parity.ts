// Every Gunicorn 26.1 setting and server hook, and what ugn does about it: the ugn setting (or
// hook) that covers it, the reason it is not offered, or the area of ugn that will bring it.
// The list and its order follow section 1 of the Gunicorn inventory (gunicorn/config.py
// KNOWN_SETTINGS: 99 value settings, 16 server hooks, 4 dirty-arbiter hooks).
// scripts/settings-doc.mjs renders it into docs/settings.md and refuses a row whose `ugn` key is
// not in the settings registry (or, for `hook:NAME`, not a hook ugn knows).

import type { HookName } from '../hooks.js'
import type { settings } from './settings.js'

/** A key of the settings registry (src/config/settings.ts), or `hook:NAME` for a server hook (src/hooks.ts). */
export type UgnKey = keyof typeof settings | `hook:${HookName}`

/** ugn has a setting or hook that does this job. */
export interface Mapped {
  gunicorn: string
  ugn: UgnKey
  /** How ugn's counterpart differs, when it does. */
  note?: string
}

/** ugn does not offer it, and does not mean to. */
export interface NotOffered {
  gunicorn: string
  ugn: null
  why: string
}

/** ugn does not have it yet; `planned` names the area of ugn that will bring it. */
export interface Planned {
  gunicorn: string
  ugn: null
  planned: string
  note?: string
}

export type ParityRow = Mapped | NotOffered | Planned

const LIFECYCLE = 'arbiter lifecycle'
const LOGGING = 'logging and metrics'
const TLS = 'TLS and proxies'

const PYTHON_LOGGING = "a Python logging module configuration format; ugn's logger is built in"
const NO_UWSGI = 'ugn speaks HTTP only; nginx reaches it with proxy_pass (a unix socket works)'
const NO_PASTE = 'PasteDeploy is a Python packaging convention with no Node counterpart'
const NO_DIRTY = 'ugn has no side pool for long-running tasks; run them in worker_threads or a separate service'
const PY_SSL = "a knob of Python's ssl module; ugn's TLS is rustls, a different stack"

export const gunicornParity: readonly ParityRow[] = [
  // Config File
  { gunicorn: 'config', ugn: 'config', note: 'a JavaScript module (ugn.config.js, .mjs, .cjs), not Python' },
  { gunicorn: 'wsgi_app', ugn: 'app' },

  // Server Socket
  { gunicorn: 'bind', ugn: 'bind' },
  { gunicorn: 'backlog', ugn: 'backlog' },

  // Worker Processes
  { gunicorn: 'workers', ugn: 'workers' },
  { gunicorn: 'worker_class', ugn: 'worker_class', note: '`async` (the default) or `sync`; no pluggable worker classes' },
  { gunicorn: 'threads', ugn: null, why: 'one JavaScript thread per worker; concurrency comes from the event loop (`-k async`) and from more workers' },
  { gunicorn: 'worker_connections', ugn: 'worker_connections' },
  { gunicorn: 'max_requests', ugn: 'max_requests' },
  { gunicorn: 'max_requests_jitter', ugn: 'max_requests_jitter' },
  { gunicorn: 'timeout', ugn: 'timeout', note: 'the heartbeat comes from the worker\'s JS thread through a pipe' },
  { gunicorn: 'graceful_timeout', ugn: 'graceful_timeout' },
  { gunicorn: 'keepalive', ugn: 'keepalive', note: 'ignored by `-k sync`, as in Gunicorn' },
  { gunicorn: 'asgi_loop', ugn: null, why: 'Node has exactly one event loop (libuv); there is nothing to choose' },
  { gunicorn: 'asgi_lifespan', ugn: null, why: 'an ASGI protocol feature; a ugn app sets itself up in its module or factory, and hooks cover worker start and exit' },
  { gunicorn: 'asgi_disconnect_grace_period', ugn: null, why: 'JavaScript cannot cancel a running handler; on disconnect ugn rejects body reads and stops pulling the body at once' },
  { gunicorn: 'http_parser', ugn: null, why: 'ugn has one HTTP/1 parser, the Rust one; there is no slower fallback to pick' },

  // Security
  { gunicorn: 'limit_request_line', ugn: 'limit_request_line', note: 'a longer line gets 414, not 400' },
  { gunicorn: 'limit_request_fields', ugn: 'limit_request_fields' },
  { gunicorn: 'limit_request_field_size', ugn: 'limit_request_field_size' },

  // Debugging
  { gunicorn: 'reload', ugn: 'reload', note: 'fs.watch (inotify/FSEvents) on the working directory' },
  { gunicorn: 'reload_engine', ugn: null, why: 'one engine: fs.watch, which uses inotify on Linux and FSEvents on macOS' },
  { gunicorn: 'reload_extra_files', ugn: 'reload_extra_files' },
  { gunicorn: 'spew', ugn: null, why: "Python's line-by-line tracer; Node's inspector and profiler do that job" },
  { gunicorn: 'check_config', ugn: 'check_config' },
  { gunicorn: 'print_config', ugn: 'print_config' },

  // Server Mechanics
  { gunicorn: 'preload_app', ugn: 'preload_app', note: 'the master imports the app to fail fast; workers load their own copy (no fork of a running Node)' },
  { gunicorn: 'sendfile', ugn: null, planned: 'sendfile(2) for file_wrapper bodies', note: 'file_wrapper bodies are streamed for now' },
  { gunicorn: 'reuse_port', ugn: 'reuse_port' },
  { gunicorn: 'chdir', ugn: 'chdir' },
  { gunicorn: 'daemon', ugn: 'daemon', note: 'the master re-executes itself detached (a running Node cannot fork)' },
  { gunicorn: 'raw_env', ugn: 'raw_env' },
  { gunicorn: 'pidfile', ugn: 'pidfile' },
  { gunicorn: 'worker_tmp_dir', ugn: null, why: "ugn's heartbeat comes from the worker's JS thread over a pipe, not from a temp file's mtime" },
  { gunicorn: 'user', ugn: 'user' },
  { gunicorn: 'group', ugn: 'group' },
  { gunicorn: 'umask', ugn: 'umask' },
  { gunicorn: 'initgroups', ugn: null, planned: `${LIFECYCLE} (user and group)` },
  { gunicorn: 'tmp_upload_dir', ugn: null, why: 'unused by Gunicorn itself; ugn streams request bodies to the app and never spools them to disk' },
  { gunicorn: 'secure_scheme_headers', ugn: 'secure_scheme_headers', note: 'Gunicorn has it in the config file only; NAME=VALUE on the command line (repeatable); names match in any case, where Gunicorn only matches upper-case keys' },
  { gunicorn: 'forwarded_allow_ips', ugn: 'forwarded_allow_ips', note: 'an IPv4 client of a dual-stack IPv6 socket (::ffff:10.0.0.1) also matches IPv4 entries; an array is accepted in the config file' },
  { gunicorn: 'pythonpath', ugn: null, why: "Python's sys.path; Node resolves modules from node_modules (or NODE_PATH), and the app may be given as a path" },
  { gunicorn: 'paste', ugn: null, why: NO_PASTE },
  { gunicorn: 'proxy_protocol', ugn: 'proxy_protocol', note: 'the header is required on every connection, as the PROXY protocol specification asks (Gunicorn reads plain HTTP when none comes); v1 UNKNOWN is accepted; the config file takes off, v1, v2, auto, true or false' },
  { gunicorn: 'proxy_allow_ips', ugn: 'proxy_allow_ips', note: 'a peer outside it is answered 403 whether or not it sends a header (Gunicorn serves it as plain HTTP)' },
  { gunicorn: 'protocol', ugn: null, why: NO_UWSGI },
  { gunicorn: 'uwsgi_allow_ips', ugn: null, why: NO_UWSGI },
  { gunicorn: 'raw_paste_global_conf', ugn: null, why: NO_PASTE },
  { gunicorn: 'permit_obsolete_folding', ugn: null, why: 'it weakens request parsing (RFC 9112 says to refuse obs-fold); see docs/conformance.md' },
  { gunicorn: 'strip_header_spaces', ugn: null, why: 'it weakens request parsing (space before the colon is a smuggling vector); see docs/conformance.md' },
  { gunicorn: 'permit_unconventional_http_method', ugn: 'permit_unconventional_http_method' },
  { gunicorn: 'permit_unconventional_http_version', ugn: null, why: 'the parser serves HTTP/1.0 and 1.1, and 1.2 to 1.9 as 1.1 (RFC 9110 §2.5); other versions are not HTTP/1' },
  { gunicorn: 'casefold_http_method', ugn: null, why: 'deprecated by Gunicorn itself: methods are case-sensitive (RFC 9110 §9.1)' },
  { gunicorn: 'forwarder_headers', ugn: null, planned: `${TLS} (forwarded headers)` },
  { gunicorn: 'header_map', ugn: 'header_map' },
  { gunicorn: 'root_path', ugn: null, planned: `${TLS} (mount prefix in SCRIPT_NAME)`, note: 'SCRIPT_NAME is always empty for now' },

  // Logging
  { gunicorn: 'accesslog', ugn: 'accesslog' },
  { gunicorn: 'disable_redirect_access_to_syslog', ugn: null, planned: `${LOGGING} (syslog)` },
  { gunicorn: 'access_log_format', ugn: 'access_log_format', note: "request headers are read from the environ, where repeats are joined with commas (Gunicorn logs the last one); b and B count the body really sent, also for the 500 of a failing app (Gunicorn logs 0); h is '-' on a Unix socket (Gunicorn leaves it empty); control characters in values are escaped" },
  { gunicorn: 'errorlog', ugn: 'errorlog' },
  { gunicorn: 'loglevel', ugn: 'loglevel' },
  { gunicorn: 'capture_output', ugn: 'capture_output', note: "only the workers' output is redirected (Gunicorn redirects the master's too)" },
  { gunicorn: 'logger_class', ugn: null, why: "a Python class loaded by dotted path; ugn's logger is built in" },
  { gunicorn: 'logconfig', ugn: null, why: PYTHON_LOGGING },
  { gunicorn: 'logconfig_dict', ugn: null, why: PYTHON_LOGGING },
  { gunicorn: 'logconfig_json', ugn: null, why: PYTHON_LOGGING },
  { gunicorn: 'syslog_addr', ugn: null, planned: `${LOGGING} (syslog)` },
  { gunicorn: 'syslog', ugn: null, planned: `${LOGGING} (syslog)` },
  { gunicorn: 'syslog_prefix', ugn: null, planned: `${LOGGING} (syslog)` },
  { gunicorn: 'syslog_facility', ugn: null, planned: `${LOGGING} (syslog)` },
  { gunicorn: 'enable_stdio_inheritance', ugn: null, planned: `${LIFECYCLE} (daemon)` },
  { gunicorn: 'statsd_host', ugn: 'statsd_host', note: "UDP only (Node has no Unix datagram sockets, so unix://PATH is refused); the port is required (Gunicorn defaults to 8125); metrics are batched, newline-separated, into one datagram per 100 ms; a failing request counts as gunicorn.log.error (Gunicorn logs it as an exception)" },
  { gunicorn: 'dogstatsd_tags', ugn: 'dogstatsd_tags', note: "a '|' or line break in the tags is refused" },
  { gunicorn: 'statsd_prefix', ugn: 'statsd_prefix', note: 'a one-character prefix also gets its dot (Gunicorn leaves it without one)' },
  { gunicorn: 'enable_backlog_metric', ugn: null, planned: `${LOGGING} (metrics)` },

  // Process Naming
  { gunicorn: 'proc_name', ugn: 'proc_name' },
  { gunicorn: 'default_proc_name', ugn: null, why: "internal to Gunicorn (filled from the app target); ugn's proc_name defaults to the app spec directly" },

  // SSL
  { gunicorn: 'keyfile', ugn: 'keyfile', note: 'optional: without it the key is read from certfile' },
  { gunicorn: 'certfile', ugn: 'certfile', note: 'TLS by rustls in the engine; ALPN offers the http_protocols' },
  { gunicorn: 'ssl_version', ugn: null, why: 'deprecated and ignored by Gunicorn since 21.0' },
  { gunicorn: 'cert_reqs', ugn: 'cert_reqs', note: 'also takes none, optional, required' },
  { gunicorn: 'ca_certs', ugn: 'ca_certs' },
  { gunicorn: 'suppress_ragged_eofs', ugn: null, why: PY_SSL },
  { gunicorn: 'do_handshake_on_connect', ugn: null, why: PY_SSL },
  { gunicorn: 'ciphers', ugn: 'ciphers', note: 'IANA suite names (rustls), not an OpenSSL cipher string' },

  // HTTP/2
  { gunicorn: 'http_protocols', ugn: 'http_protocols', note: 'HTTP/2 by the h2 crate in the engine; h3 is not offered' },
  { gunicorn: 'http2_cleartext', ugn: 'http2_cleartext', note: 'off and prior-knowledge; the Upgrade: h2c handshake (upgrade, both) is not offered' },
  { gunicorn: 'http2_max_concurrent_streams', ugn: 'http2_max_concurrent_streams' },
  { gunicorn: 'http2_initial_window_size', ugn: 'http2_initial_window_size' },
  { gunicorn: 'http2_max_frame_size', ugn: 'http2_max_frame_size' },
  { gunicorn: 'http2_max_header_list_size', ugn: 'http2_max_header_list_size' },

  // Control
  { gunicorn: 'control_socket', ugn: 'control_socket', note: 'off unless set (Gunicorn opens $XDG_RUNTIME_DIR/gunicorn.ctl by default, which two masters of one user would share); the client is `ugn ctl` (status, workers N, reload, reopen-logs, shutdown [--graceful]), not gunicornc' },
  { gunicorn: 'control_socket_mode', ugn: null, why: 'the socket is always 0600: whoever can write to it can stop the server, so only its owner (and root) may' },
  { gunicorn: 'control_socket_disable', ugn: 'control_socket_disable' },

  // Dirty Arbiters
  { gunicorn: 'dirty_apps', ugn: null, why: NO_DIRTY },
  { gunicorn: 'dirty_workers', ugn: null, why: NO_DIRTY },
  { gunicorn: 'dirty_timeout', ugn: null, why: NO_DIRTY },
  { gunicorn: 'dirty_threads', ugn: null, why: NO_DIRTY },
  { gunicorn: 'dirty_graceful_timeout', ugn: null, why: NO_DIRTY },

  // Server Hooks
  { gunicorn: 'on_starting', ugn: 'hook:on_starting' },
  { gunicorn: 'on_reload', ugn: 'hook:on_reload' },
  { gunicorn: 'when_ready', ugn: 'hook:when_ready' },
  { gunicorn: 'pre_fork', ugn: 'hook:pre_fork' },
  { gunicorn: 'post_fork', ugn: 'hook:post_fork' },
  { gunicorn: 'post_worker_init', ugn: 'hook:post_worker_init' },
  { gunicorn: 'worker_int', ugn: 'hook:worker_int' },
  { gunicorn: 'worker_abort', ugn: 'hook:worker_abort', note: 'runs only if the stuck thread can still run JavaScript' },
  { gunicorn: 'pre_exec', ugn: 'hook:pre_exec', note: 'called in the old master just before it starts the new one' },
  { gunicorn: 'pre_request', ugn: 'hook:pre_request' },
  { gunicorn: 'post_request', ugn: 'hook:post_request' },
  { gunicorn: 'child_exit', ugn: 'hook:child_exit' },
  { gunicorn: 'worker_exit', ugn: 'hook:worker_exit' },
  { gunicorn: 'nworkers_changed', ugn: 'hook:nworkers_changed' },
  { gunicorn: 'on_exit', ugn: 'hook:on_exit' },
  { gunicorn: 'ssl_context', ugn: null, why: 'the TLS configuration is built in the Rust engine (rustls), out of reach of a JavaScript hook; the SSL settings cover what it is used for' },

  // Dirty Arbiter Hooks
  { gunicorn: 'on_dirty_starting', ugn: null, why: NO_DIRTY },
  { gunicorn: 'dirty_post_fork', ugn: null, why: NO_DIRTY },
  { gunicorn: 'dirty_worker_init', ugn: null, why: NO_DIRTY },
  { gunicorn: 'dirty_worker_exit', ugn: null, why: NO_DIRTY },
]
