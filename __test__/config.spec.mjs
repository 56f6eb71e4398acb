// Configuration: defaults < config file < UGN_CMD_ARGS < command line, the config file's forms,
// --print-config, --check-config, and every validation error's message and exit status.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { CLI, get, isAlive, killAll, ROOT, sleep, startUgn, unixGet, waitFor } from './helpers/ugn.mjs'

test.after.always(killAll)

const dirs = []
test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const HELLO = path.join(ROOT, 'examples', 'hello.mjs')

function tempDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-config-'))
  dirs.push(dir)
  return dir
}

/** Runs the CLI to completion in `cwd` with extra environment; bounded. */
function run(args, { cwd = ROOT, env = {} } = {}) {
  const { UGN_CMD_ARGS, WEB_CONCURRENCY, ...base } = process.env
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...base, ...env }, encoding: 'utf8', timeout: 15_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The settings --print-config reports, parsed back. */
function printed(args, opts) {
  const r = run([...args, '--print-config'], opts)
  if (r.code !== 0) throw new Error(`--print-config failed (${r.code}): ${r.stderr}`)
  const out = {}
  for (const line of r.stdout.trim().split('\n')) {
    const [name, value] = line.split(/ += /)
    out[name.trim()] = value === '<function>' ? value : JSON.parse(value)
  }
  return out
}

test('precedence: defaults < config file < UGN_CMD_ARGS < command line', (t) => {
  const dir = tempDir()
  writeFileSync(path.join(dir, 'ugn.config.mjs'), 'export const workers = 3\nexport const keepalive = 7\nexport const loglevel = "warning"\nexport const backlog = 100\n')
  const fromFile = printed([HELLO], { cwd: dir })
  t.is(fromFile.workers, 3)
  t.is(fromFile.keepalive, 7)
  t.is(fromFile.graceful_timeout, 30, 'untouched settings keep their defaults')
  t.is(fromFile.config, path.join(dir, 'ugn.config.mjs'))

  const env = { UGN_CMD_ARGS: "--workers 4 --log-level 'debug'" }
  const fromEnv = printed([HELLO], { cwd: dir, env })
  t.is(fromEnv.workers, 4)
  t.is(fromEnv.loglevel, 'debug')
  t.is(fromEnv.keepalive, 7)

  const fromCli = printed([HELLO, '--workers', '5', '--keep-alive', '1'], { cwd: dir, env })
  t.is(fromCli.workers, 5)
  t.is(fromCli.keepalive, 1)
  t.is(fromCli.loglevel, 'debug')
  t.is(fromCli.backlog, 100)
})

test('config file forms: .js, .cjs (module.exports), a default-export object, -c PATH, app from the file', (t) => {
  const cjs = tempDir()
  writeFileSync(path.join(cjs, 'ugn.config.cjs'), 'module.exports = { workers: 2, keepalive: 9 }\n')
  t.is(printed([HELLO], { cwd: cjs }).keepalive, 9)

  const js = tempDir()
  writeFileSync(path.join(js, 'package.json'), '{"type":"module"}')
  writeFileSync(path.join(js, 'ugn.config.js'), 'export default { workers: 6, bind: ["127.0.0.1:0"] }\n')
  const fromJs = printed([HELLO], { cwd: js })
  t.is(fromJs.workers, 6)
  t.deepEqual(fromJs.bind, ['127.0.0.1:0'])

  const other = tempDir()
  const file = path.join(other, 'prod.config.mjs')
  writeFileSync(file, `export const app = ${JSON.stringify(`${HELLO}:app`)}\nexport const workers = 2\n`)
  const named = printed(['-c', file])
  t.is(named.app, `${HELLO}:app`)
  t.is(named.config, file)
})

test('--check-config: 0 when config and app load, 1 with the reason when the app does not', (t) => {
  t.is(run([HELLO, '--check-config']).code, 0)
  const bad = run(['__test__/apps/throws-on-import.mjs', '--check-config'])
  t.is(bad.code, 1)
  t.regex(bad.stderr, /throws-on-import/)
  const missing = run(['no/such/module:app', '--check-config'])
  t.is(missing.code, 1)
  t.regex(missing.stderr, /No module named "no\/such\/module"/)
})

const invalid = [
  ['CLI --workers abc', { args: ['--workers', 'abc'] }, /Invalid value for workers: "abc" is not an integer/],
  ['CLI --workers 0', { args: ['--workers', '0'] }, /Invalid value for workers: 0 is out of range: allowed values are between 1 and 4096/],
  ['CLI --backlog -5', { args: ['--backlog=-5'] }, /Invalid value for backlog: -5 is out of range/],
  ['CLI --keep-alive soon', { args: ['--keep-alive', 'soon'] }, /Invalid value for keepalive: "soon" is not a number/],
  ['CLI --bind nonsense:port', { args: ['--bind', 'nonsense:port'] }, /Invalid value for bind: .*"port" is not a valid port/],
  ['CLI --umask 0o999', { args: ['--umask', '0o999'] }, /Invalid value for umask: .*allowed values are 0 to 0o777/],
  ['CLI -e NOEQUALS', { args: ['-e', 'NOEQUALS'] }, /Invalid value for raw_env: "NOEQUALS" is not KEY=VALUE/],
  ['CLI --chdir /no/such/dir', { args: ['--chdir', '/no/such/dir'] }, /Invalid value for chdir: "\/no\/such\/dir" is not an existing directory/],
  ['CLI -k fast', { args: ['-k', 'fast'] }, /argument 'fast' is invalid\. Allowed choices are async, sync/],
  ['CLI unknown flag', { args: ['--frobnicate'] }, /unknown option '--frobnicate'/],
  ['file: unknown setting', { file: 'export const wrkers = 2\n' }, /Unknown setting "wrkers" in .*: it is neither a setting nor a hook/],
  ['file: bad value', { file: 'export const workers = "many"\n' }, /Invalid value for workers: "many" is not an integer \(from .*ugn\.config\.mjs\)/],
  ['file: hook not a function', { file: 'export const on_starting = 3\n' }, /Invalid value for on_starting: the hook in .* must be a function, not number/],
  ['file: throws on load', { file: 'throw new Error("boom")\n' }, /Invalid value for config: .* failed to load: boom/],
  ['-c missing file', { args: ['-c', '/no/such/ugn.config.js'] }, /Invalid value for config: "\/no\/such\/ugn\.config\.js" does not exist/],
  ['UGN_CMD_ARGS unterminated quote', { env: { UGN_CMD_ARGS: "--workers '3" } }, /Invalid value for UGN_CMD_ARGS: unterminated ' quote/],
  ['UGN_CMD_ARGS unknown flag', { env: { UGN_CMD_ARGS: '--bogus' } }, /UGN_CMD_ARGS: error: unknown option '--bogus'/],
  ['UGN_CMD_ARGS bad value', { env: { UGN_CMD_ARGS: '--workers x' } }, /Invalid value for workers: "x" is not an integer \(from UGN_CMD_ARGS\)/],
  ['no app at all', { noApp: true }, /no app to serve: give MODULE\[:ATTR\], or set app in the config file/],
  // Negative numbers and other ranges.
  ['CLI --timeout -3', { args: ['--timeout=-3'] }, /Invalid value for timeout: -3 is out of range: allowed values are >= 0/],
  ['CLI --graceful-timeout -1', { args: ['--graceful-timeout=-1'] }, /Invalid value for graceful_timeout: -1 is out of range: allowed values are >= 0/],
  ['CLI --max-requests -1', { args: ['--max-requests=-1'] }, /Invalid value for max_requests: -1 is out of range: allowed values are >= 0/],
  ['CLI --workers 5000', { args: ['-w', '5000'] }, /Invalid value for workers: 5000 is out of range: allowed values are between 1 and 4096/],
  ['CLI --limit-request-line 9000', { args: ['--limit-request-line', '9000'] }, /Invalid value for limit_request_line: 9000 is out of range: allowed values are between 0 and 8190/],
  ['file: negative keepalive', { file: 'export const keepalive = -1\n' }, /Invalid value for keepalive: -1 is out of range: allowed values are >= 0 \(from .*ugn\.config\.mjs\)/],
  // Bind, umask, raw_env, accounts, choices, from every layer.
  ['CLI --bind unix: (empty path)', { args: ['--bind', 'unix:'] }, /Invalid value for bind: invalid bind address "unix:": the unix socket path is empty/],
  ['file: bad bind', { file: 'export const bind = ["127.0.0.1:0", "nonsense:port"]\n' }, /Invalid value for bind: invalid bind address "nonsense:port": "port" is not a valid port number .*\(from .*ugn\.config\.mjs\)/],
  ['CLI --umask abc', { args: ['-m', 'abc'] }, /Invalid value for umask: "abc" is not a file mode mask: allowed values are 0 to 0o777/],
  ['UGN_CMD_ARGS --umask 0x1000', { env: { UGN_CMD_ARGS: '--umask 0x1000' } }, /Invalid value for umask: "0x1000" is not a file mode mask: allowed values are 0 to 0o777 .*\(from UGN_CMD_ARGS\)/],
  ['file: umask 0o1000', { file: 'export const umask = 0o1000\n' }, /Invalid value for umask: 512 is not a file mode mask: allowed values are 0 to 0o777/],
  ['CLI -e =x (no key)', { args: ['-e', 'OK=1', '-e', '=x'] }, /Invalid value for raw_env: "=x" is not KEY=VALUE/],
  ['file: raw_env entry without =', { file: 'export const raw_env = ["A=1", "B"]\n' }, /Invalid value for raw_env: "B" is not KEY=VALUE \(from .*ugn\.config\.mjs\)/],
  ['CLI -u bad!name', { args: ['-u', 'bad!name'] }, /Invalid value for user: "bad!name" is not a user or group name or a numeric id/],
  ['file: group -1', { file: 'export const group = -1\n' }, /Invalid value for group: -1 is not a user or group name or a numeric id/],
  ['file: bad loglevel choice', { file: 'export const loglevel = "loud"\n' }, /Invalid value for loglevel: "loud" is not one of the allowed values: debug, info, warning, error, critical/],
  ['UGN_CMD_ARGS bad choice', { env: { UGN_CMD_ARGS: '--log-level loud' } }, /UGN_CMD_ARGS: error: option '--log-level <LEVEL>' argument 'loud' is invalid\. Allowed choices are debug, info, warning, error, critical/],
  ['file: worker_class not a choice', { file: 'export default { worker_class: "gevent" }\n' }, /Invalid value for worker_class: "gevent" is not one of the allowed values: async, sync/],
  ['file: chdir missing', { file: 'export const chdir = "/no/such/dir"\n' }, /Invalid value for chdir: "\/no\/such\/dir" is not an existing directory/],
  ['file: app not a string', { file: 'export const app = 42\n' }, /Invalid value for app: 42 is not a non-empty string/],
  // Hooks and names the file may not hold.
  ['file: hook null', { file: 'export const on_exit = null\n' }, /Invalid value for on_exit: the hook in .* must be a function, not null/],
  ['file: hook a string in a default export', { file: 'export default { post_request: "log it" }\n' }, /Invalid value for post_request: the hook in .* must be a function, not string/],
  ['file: print_config is not a file setting', { file: 'export const print_config = true\n' }, /Unknown setting "print_config" in .*: it is neither a setting nor a hook/],
  ['file (.cjs): unknown setting', { cjs: 'module.exports = { workers: 2, log_level: "debug" }\n' }, /Unknown setting "log_level" in .*ugn\.config\.cjs: it is neither a setting nor a hook/],
  // Names are checked when the configuration is read, as Gunicorn does, not in the worker.
  ['CLI -u no such user', { args: ['-u', 'nosuchuser_ugn'] }, /Invalid value for user: .*nosuchuser_ugn/],
  ['CLI -g no such group', { args: ['-g', 'nosuchgroup_ugn'] }, /Invalid value for group: .*nosuchgroup_ugn/],
]

for (const [name, c, message] of invalid) {
  test(`invalid: ${name} exits 2 before binding`, (t) => {
    const cwd = tempDir()
    if (c.file) writeFileSync(path.join(cwd, 'ugn.config.mjs'), c.file)
    if (c.cjs) writeFileSync(path.join(cwd, 'ugn.config.cjs'), c.cjs)
    const r = run([...(c.noApp ? [] : [HELLO]), '--bind', '127.0.0.1:0', ...(c.args ?? [])], { cwd, env: c.env })
    t.is(r.code, 2, r.stderr)
    t.regex(r.stderr, message)
    t.regex(r.stderr, /^ugn: (UGN_CMD_ARGS: )?error: /m)
    t.notRegex(r.stderr, /Listening at|Booting worker/)
  })
}

test('process settings on a real server: pid file, -e, umask, user/group, proc_name, chdir', async (t) => {
  const dir = tempDir()
  // The workers run as nobody: they must be able to read the app.
  chmodSync(dir, 0o755)
  writeFileSync(
    path.join(dir, 'envapp.mjs'),
    "export function app(e, sr) { sr('200 OK', [['Content-Type', 'text/plain']]); return [process.env.GREETING ?? 'unset'] }\n",
  )
  const pidfile = path.join(dir, 'ugn.pid')
  const sock = path.join(dir, 'ugn.sock')
  const ugn = await startUgn(
    'envapp.mjs',
    ['--chdir', dir, '--pid', pidfile, '-e', 'GREETING=hi there', '--umask', '0o007', '-b', `unix:${sock}`, '-u', '65534', '-g', '65534', '-n', 'shop'],
    { workers: 1 },
  )
  try {
    t.is(readFileSync(pidfile, 'utf8').trim(), String(ugn.masterPid))
    t.is(await (await get(`${ugn.url}/`)).text(), 'hi there')
    t.is(statSync(sock).mode & 0o777, 0o770, 'the umask applies to the unix socket')
    const [worker] = ugn.workerPids()
    const status = readFileSync(`/proc/${worker}/status`, 'utf8')
    t.regex(status, /^Uid:\s+65534\s/m)
    t.regex(status, /^Gid:\s+65534\s/m)
    t.regex(readFileSync(`/proc/${ugn.masterPid}/cmdline`, 'utf8'), /ugn: master \[shop\]/)
    t.regex(readFileSync(`/proc/${worker}/cmdline`, 'utf8'), /ugn: worker \[shop\]/)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
  await waitFor(() => !isAlive(ugn.masterPid), 5000, 'the master to exit')
  t.throws(() => statSync(pidfile), { code: 'ENOENT' }, 'the pid file is removed at exit')
})
