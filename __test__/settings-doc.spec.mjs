// docs/settings.md is generated from the settings registry and the Gunicorn parity table
// (scripts/settings-doc.mjs); these tests keep both from going stale.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { gunicornParity } from '../dist/config/gunicorn-parity.js'
import { settings } from '../dist/config/settings.js'

const root = fileURLToPath(new URL('..', import.meta.url))

// Gunicorn 26.1 has 119 settings: 99 value settings, 16 server hooks and 4 dirty-arbiter hooks
// (gunicorn/config.py KNOWN_SETTINGS), listed in section 1 of the Gunicorn inventory
// (/work/shared/reference/gunicorn-inventory.md), grouped here by its sections.
const GUNICORN_SETTING_COUNT = 119
const GUNICORN_SETTINGS = [
  // Config File (2)
  'config', 'wsgi_app',
  // Server Socket (2)
  'bind', 'backlog',
  // Worker Processes (13)
  'workers', 'worker_class', 'threads', 'worker_connections', 'max_requests', 'max_requests_jitter',
  'timeout', 'graceful_timeout', 'keepalive', 'asgi_loop', 'asgi_lifespan',
  'asgi_disconnect_grace_period', 'http_parser',
  // Security (3)
  'limit_request_line', 'limit_request_fields', 'limit_request_field_size',
  // Debugging (6)
  'reload', 'reload_engine', 'reload_extra_files', 'spew', 'check_config', 'print_config',
  // Server Mechanics (30)
  'preload_app', 'sendfile', 'reuse_port', 'chdir', 'daemon', 'raw_env', 'pidfile', 'worker_tmp_dir',
  'user', 'group', 'umask', 'initgroups', 'tmp_upload_dir', 'secure_scheme_headers',
  'forwarded_allow_ips', 'pythonpath', 'paste', 'proxy_protocol', 'proxy_allow_ips', 'protocol',
  'uwsgi_allow_ips', 'raw_paste_global_conf', 'permit_obsolete_folding', 'strip_header_spaces',
  'permit_unconventional_http_method', 'permit_unconventional_http_version', 'casefold_http_method',
  'forwarder_headers', 'header_map', 'root_path',
  // Logging (19)
  'accesslog', 'disable_redirect_access_to_syslog', 'access_log_format', 'errorlog', 'loglevel',
  'capture_output', 'logger_class', 'logconfig', 'logconfig_dict', 'logconfig_json', 'syslog_addr',
  'syslog', 'syslog_prefix', 'syslog_facility', 'enable_stdio_inheritance', 'statsd_host',
  'dogstatsd_tags', 'statsd_prefix', 'enable_backlog_metric',
  // Process Naming (2)
  'proc_name', 'default_proc_name',
  // SSL (8)
  'keyfile', 'certfile', 'ssl_version', 'cert_reqs', 'ca_certs', 'suppress_ragged_eofs',
  'do_handshake_on_connect', 'ciphers',
  // HTTP/2 (6)
  'http_protocols', 'http2_cleartext', 'http2_max_concurrent_streams', 'http2_initial_window_size',
  'http2_max_frame_size', 'http2_max_header_list_size',
  // Control (3)
  'control_socket', 'control_socket_mode', 'control_socket_disable',
  // Dirty Arbiters (5)
  'dirty_apps', 'dirty_workers', 'dirty_timeout', 'dirty_threads', 'dirty_graceful_timeout',
  // Server Hooks (16)
  'on_starting', 'on_reload', 'when_ready', 'pre_fork', 'post_fork', 'post_worker_init', 'worker_int',
  'worker_abort', 'pre_exec', 'pre_request', 'post_request', 'child_exit', 'worker_exit',
  'nworkers_changed', 'on_exit', 'ssl_context',
  // Dirty Arbiter Hooks (4)
  'on_dirty_starting', 'dirty_post_fork', 'dirty_worker_init', 'dirty_worker_exit',
]

/** The hook names ugn knows (src/hooks.ts), or null before that module exists. */
async function hookNames() {
  const url = new URL('../dist/hooks.js', import.meta.url)
  return existsSync(url) ? (await import(url.href)).HOOK_NAMES : null
}

test('docs/settings.md is up to date (else run: npx tsc -p tsconfig.json && node scripts/settings-doc.mjs)', (t) => {
  const run = spawnSync(process.execPath, ['scripts/settings-doc.mjs', '--check'], { cwd: root, encoding: 'utf8' })
  t.is(run.status, 0, run.stderr)
})

test('the parity table has exactly one row per Gunicorn setting, all 119 of them', (t) => {
  t.is(GUNICORN_SETTINGS.length, GUNICORN_SETTING_COUNT)
  t.is(new Set(GUNICORN_SETTINGS).size, GUNICORN_SETTING_COUNT)
  const names = gunicornParity.map((row) => row.gunicorn)
  t.is(names.length, GUNICORN_SETTING_COUNT)
  t.deepEqual(
    names.filter((name, i) => names.indexOf(name) !== i),
    [],
    'rows that repeat a Gunicorn setting',
  )
  t.deepEqual(
    GUNICORN_SETTINGS.filter((name) => !names.includes(name)),
    [],
    'Gunicorn settings without a row',
  )
  t.deepEqual(
    names.filter((name) => !GUNICORN_SETTINGS.includes(name)),
    [],
    'rows that are not Gunicorn settings',
  )
})

test('every row is mapped, planned or not offered, with a reason', (t) => {
  for (const row of gunicornParity) {
    if (typeof row.ugn === 'string') {
      t.false('why' in row || 'planned' in row, `${row.gunicorn} is mapped and also planned or not offered`)
    } else {
      t.is(row.ugn, null, row.gunicorn)
      t.true(('why' in row) !== ('planned' in row), `${row.gunicorn} needs exactly one of why and planned`)
      const text = row.why ?? row.planned
      t.true(typeof text === 'string' && text.trim() !== '', `${row.gunicorn} has an empty reason`)
    }
  }
})

test('every ugn key in the parity table exists in the settings registry (or, for hook:NAME, among the hooks)', async (t) => {
  const hooks = await hookNames()
  const mapped = gunicornParity.filter((row) => typeof row.ugn === 'string')
  t.true(mapped.length > 0)
  for (const row of mapped) {
    if (row.ugn.startsWith('hook:')) {
      t.truthy(hooks, `${row.gunicorn} names ${row.ugn} but src/hooks.ts does not exist`)
      t.true(hooks?.includes(row.ugn.slice('hook:'.length)), `${row.gunicorn}: ${row.ugn} is not in HOOK_NAMES`)
    } else {
      t.true(Object.hasOwn(settings, row.ugn), `${row.gunicorn}: "${row.ugn}" is not a key of the settings registry`)
    }
  }
})
