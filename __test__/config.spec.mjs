// Configuration: defaults < config file < UGN_CMD_ARGS < command line, the config file's forms,
// --print-config, --check-config, and every validation error's message and exit status.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { CLI, get, isAlive, killAll, PATIENCE_MS, ROOT, sleep, startUgn, unixGet, waitFor } from './helpers/ugn.mjs'

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
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...base, ...env }, encoding: 'utf8', timeout: PATIENCE_MS })
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
  ['CLI -u bad!name', { args: ['-u', 'bad!name'] }, /Invalid value for user: "bad!name" is not a (user|user or group) name or a numeric id/],
  ['file: group -1', { file: 'export const group = -1\n' }, /Invalid value for group: -1 is not a (group|user or group) name or a numeric id/],
  ['file: bad loglevel choice', { file: 'export const loglevel = "loud"\n' }, /Invalid value for loglevel: "loud" is not one of the allowed values: debug, info, warning, error, critical/],
  ['UGN_CMD_ARGS bad choice', { env: { UGN_CMD_ARGS: '--log-level loud' } }, /UGN_CMD_ARGS: error: option '--log-level <LEVEL>' argument 'loud' is invalid\. Allowed choices are debug, info, warning, error, critical/],
  ['file: worker_class not a choice', { file: 'export default { worker_class: "gevent" }\n' }, /Invalid value for worker_class: "gevent" is not one of the allowed values: async, sync/],
  ['file: chdir missing', { file: 'export const chdir = "/no/such/dir"\n' }, /Invalid value for chdir: "\/no\/such\/dir" is not an existing directory/],
  ['file: app not a string', { file: 'export const app = 42\n' }, /Invalid value for app: 42 is not a non-empty string/],
  // Hooks and names the file may not hold.
  ['file: hook null', { file: 'export const on_exit = null\n' }, /Invalid value for on_exit: the hook in .* must be a function, not null/],
  ['file: hook a string in a default export', { file: 'export default { post_request: "log it" }\n' }, /Invalid value for post_request: the hook in .* must be a function, not string/],
  ['file: a misspelled hook', { file: 'export const on_start = () => {}\n' }, /Unknown setting "on_start" in .*: it is neither a setting nor a hook/],
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
  await waitFor(() => !isAlive(ugn.masterPid), PATIENCE_MS, 'the master to exit')
  t.throws(() => statSync(pidfile), { code: 'ENOENT' }, 'the pid file is removed at exit')
})

/** Waits until `n` workers booted, then a master loop turn more, and checks no other came. */
async function settledWorkers(ugn, n) {
  await waitFor(() => ugn.workerPids().length >= n, PATIENCE_MS, `${n} workers`)
  await sleep(1500)
  return ugn.workerPids().length
}

test('precedence on a real server: WEB_CONCURRENCY < config file < UGN_CMD_ARGS < command line, by booted workers', async (t) => {
  const dir = tempDir()
  const file = path.join(dir, 'ugn.config.mjs')
  writeFileSync(file, 'export const workers = 4\n')

  const cases = [
    ['default from WEB_CONCURRENCY', { WEB_CONCURRENCY: '2' }, [], 2],
    ['config file over the default', { WEB_CONCURRENCY: '2', UGN_CMD_ARGS: `-c ${file}` }, [], 4],
    ['UGN_CMD_ARGS over the config file', { WEB_CONCURRENCY: '2', UGN_CMD_ARGS: `-c '${file}' --workers 3` }, [], 3],
    ['command line over UGN_CMD_ARGS', { WEB_CONCURRENCY: '2', UGN_CMD_ARGS: `-c ${file} --workers 3` }, ['-w', '1'], 1],
  ]
  for (const [name, env, args, expected] of cases) {
    const ugn = await startUgn(HELLO, args, { env, workers: expected })
    try {
      t.is(await settledWorkers(ugn, expected), expected, name)
      const res = await get(`${ugn.url}/`).catch((err) => {
        throw new Error(`GET failed: ${err.cause?.code ?? ''} ${err.cause?.message ?? err.message}\n${ugn.log()}`)
      })
      t.is(res.status, 200)
    } finally {
      t.is(await ugn.stop('SIGTERM'), 0)
    }
  }
})

test('config file discovery: .js before .mjs before .cjs, a CommonJS .js, relative -c, -c in UGN_CMD_ARGS', (t) => {
  const dir = tempDir()
  // No package.json: a .js file here is CommonJS.
  writeFileSync(path.join(dir, 'ugn.config.js'), 'module.exports = { keepalive: 11 }\n')
  writeFileSync(path.join(dir, 'ugn.config.mjs'), 'export const keepalive = 12\n')
  writeFileSync(path.join(dir, 'ugn.config.cjs'), 'exports.keepalive = 13\n')
  writeFileSync(path.join(dir, 'other.config.cjs'), 'module.exports = { keepalive: 14, workers: 2 }\n')
  writeFileSync(path.join(dir, 'third.config.mjs'), 'export default { keepalive: 15 }\n')

  let p = printed([HELLO], { cwd: dir })
  t.is(p.keepalive, 11)
  t.is(p.config, path.join(dir, 'ugn.config.js'))
  rmSync(path.join(dir, 'ugn.config.js'))
  p = printed([HELLO], { cwd: dir })
  t.is(p.keepalive, 12)
  t.is(p.config, path.join(dir, 'ugn.config.mjs'))
  rmSync(path.join(dir, 'ugn.config.mjs'))
  p = printed([HELLO], { cwd: dir })
  t.is(p.keepalive, 13, 'exports.NAME in a .cjs file')
  t.is(p.config, path.join(dir, 'ugn.config.cjs'))

  // -c replaces the default file (which is not merged in), and a relative path is the cwd's.
  p = printed([HELLO, '-c', 'other.config.cjs'], { cwd: dir })
  t.is(p.keepalive, 14)
  t.is(p.workers, 2)
  t.is(p.config, path.join(dir, 'other.config.cjs'))
  p = printed([HELLO], { cwd: dir, env: { UGN_CMD_ARGS: '--config=other.config.cjs' } })
  t.is(p.keepalive, 14, '-c from UGN_CMD_ARGS')
  p = printed([HELLO, '-c', 'third.config.mjs'], { cwd: dir, env: { UGN_CMD_ARGS: '-c other.config.cjs' } })
  t.is(p.keepalive, 15, 'the command line -c wins over the one in UGN_CMD_ARGS')
  t.is(p.workers, 1, 'and the other file is not read at all')

  // No file anywhere: defaults, config = null.
  const empty = tempDir()
  p = printed([HELLO], { cwd: empty })
  t.is(p.config, null)
  t.is(p.keepalive, 2)
  t.is(p.workers, 1)
})

test('--print-config: one "name = JSON" line per setting, sorted, then hooks as <function>', (t) => {
  const dir = tempDir()
  writeFileSync(
    path.join(dir, 'ugn.config.mjs'),
    'export const raw_env = ["A=1", "B=x=y"]\nexport const on_exit = () => {}\nexport const child_exit = function () {}\nexport const umask = "0o27"\n',
  )
  const r = run([HELLO, '--print-config', '-e', 'C=3', '-e', 'D=4'], { cwd: dir })
  t.is(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  const names = lines.map((l) => l.split(/ += /)[0].trim())
  const settingNames = names.slice(0, -2)
  t.deepEqual(settingNames, [...settingNames].sort())
  t.deepEqual(names.slice(-2), ['child_exit', 'on_exit'])
  for (const line of lines.slice(0, -2)) t.notThrows(() => JSON.parse(line.split(/ += /)[1]), line)
  t.regex(lines.at(-1), /^on_exit +=  ?<function>$/)
  const p = printed([HELLO, '-e', 'C=3', '-e', 'D=4'], { cwd: dir })
  t.deepEqual(p.raw_env, ['C=3', 'D=4'], 'the command line -e list replaces the file list')
  t.is(p.umask, 0o27, 'umask given as an octal string is stored as a number')
  t.true(['workers', 'bind', 'chdir', 'pidfile', 'raw_env', 'umask', 'user', 'group', 'proc_name', 'loglevel'].every((n) => n in p))
  t.is(printed([HELLO], { cwd: dir }).on_exit, '<function>')
})

test('app from the config file: served on a real server, overridden by the command line, --check-config', async (t) => {
  const dir = tempDir()
  writeFileSync(
    path.join(dir, 'srv.mjs'),
    "export function app(e, sr) { sr('200 OK', [['Content-Type', 'text/plain']]); return ['from the config app'] }\n",
  )
  const file = path.join(dir, 'serve.config.mjs')
  // A relative app, resolved in chdir (set by the same file).
  writeFileSync(file, `export const app = 'srv.mjs:app'\nexport const chdir = ${JSON.stringify(dir)}\n`)

  const ugn = await startUgn('-c', [file, '--bind', '127.0.0.1:0'], { bind: false })
  try {
    t.is(await (await get(`${ugn.url}/`)).text(), 'from the config app')
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
  const over = await startUgn(HELLO, ['-c', file])
  try {
    t.is(await (await get(`${over.url}/`)).text(), 'Hello, World!', 'the command line app wins')
  } finally {
    t.is(await over.stop('SIGTERM'), 0)
  }

  t.is(run(['-c', file, '--check-config']).code, 0)
  const broken = path.join(dir, 'broken.config.mjs')
  writeFileSync(broken, `export const app = 'no_such_app_module:app'\nexport const chdir = ${JSON.stringify(dir)}\n`)
  const r = run(['-c', broken, '--check-config'])
  t.is(r.code, 1)
  t.regex(r.stderr, /^ugn: error: No module named "no_such_app_module"/m)
  t.notRegex(r.stderr, /Listening at/)
  // --check-config still validates the settings first: a bad value is 2, not 1.
  t.is(run(['-c', file, '--check-config', '--workers', '0']).code, 2)
})

test('process settings from a config file: user/group by name, umask of every process and socket, raw_env, proc_name, pid file', async (t) => {
  const dir = tempDir()
  chmodSync(dir, 0o755)
  writeFileSync(
    path.join(dir, 'env.mjs'),
    "export function app(e, sr) { sr('200 OK', [['Content-Type', 'application/json']]); return [JSON.stringify({ A: process.env.A, B: process.env.B, uid: process.getuid(), gid: process.getgid() })] }\n",
  )
  const sock = path.join(dir, 'app.sock')
  const pidfile = path.join(dir, 'master.pid')
  const file = path.join(dir, 'proc.config.mjs')
  writeFileSync(
    file,
    `export default {
  app: 'env.mjs',
  chdir: ${JSON.stringify(dir)},
  bind: ['unix:${sock}', '127.0.0.1:0'],
  workers: 2,
  raw_env: ['A=alpha', 'B=x=y z'],
  umask: '0o027',
  user: 'nobody',
  group: 'nogroup',
  proc_name: 'from-file',
  pidfile: ${JSON.stringify(pidfile)},
}
`,
  )
  const ugn = await startUgn('-c', [file], { bind: false, workers: 2 })
  let workers
  try {
    t.is(readFileSync(pidfile, 'utf8'), `${ugn.masterPid}\n`)
    const body = JSON.parse((await unixGet(sock, '/')).body)
    t.deepEqual(body, { A: 'alpha', B: 'x=y z', uid: 65534, gid: 65534 })
    t.deepEqual(await (await get(`${ugn.url}/`)).json(), body)
    t.is(statSync(sock).mode & 0o777, 0o750, 'umask 027 on the socket file')
    workers = ugn.workerPids()
    t.is(workers.length, 2)
    const master = readFileSync(`/proc/${ugn.masterPid}/status`, 'utf8')
    t.regex(master, /^Umask:\s+0027$/m, 'the master runs with the umask')
    t.regex(master, /^Uid:\s+0\s+0\s+0\s+0$/m, 'the master keeps its user')
    t.regex(readFileSync(`/proc/${ugn.masterPid}/cmdline`, 'utf8'), /^ugn: master \[from-file\]/)
    for (const pid of workers) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      t.regex(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m, 'real, effective, saved and fs uid are nobody')
      t.regex(status, /^Gid:\s+65534\s+65534\s+65534\s+65534$/m, 'and the gids nogroup')
      t.regex(status, /^Umask:\s+0027$/m, 'the worker runs with the umask')
      t.regex(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^ugn: worker \[from-file\]/)
    }
  } finally {
    t.is(await ugn.stop('SIGINT'), 0)
  }
  t.false(existsSync(pidfile), 'the pid file is removed at exit (INT too)')
  t.false(existsSync(sock), 'the socket file is removed at exit')
  for (const pid of workers ?? []) t.false(isAlive(pid))
})

test('proc_name defaults to the app spec; -e and --env are repeatable, the last value of a key wins', async (t) => {
  const dir = tempDir()
  writeFileSync(
    path.join(dir, 'echo-env.mjs'),
    "export function app(e, sr) { sr('200 OK', [['Content-Type', 'application/json']]); return [JSON.stringify({ X: process.env.X, Y: process.env.Y, Z: process.env.Z ?? null })] }\n",
  )
  const app = path.join(dir, 'echo-env.mjs')
  const ugn = await startUgn(app, ['-e', 'X=1', '--env', 'Y=two words', '-e', 'X=override'])
  try {
    t.deepEqual(await (await get(`${ugn.url}/`)).json(), { X: 'override', Y: 'two words', Z: null })
    t.regex(readFileSync(`/proc/${ugn.masterPid}/cmdline`, 'utf8'), new RegExp(`^ugn: master \\[${app.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\]`))
    t.regex(readFileSync(`/proc/${ugn.workerPids()[0]}/cmdline`, 'utf8'), /^ugn: worker \[/)
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})

test('workers switch user after binding: a socket in a root-only directory is served by nobody', async (t) => {
  const appDir = tempDir()
  chmodSync(appDir, 0o755)
  writeFileSync(
    path.join(appDir, 'whoami.mjs'),
    "export function app(e, sr) { sr('200 OK', [['Content-Type', 'text/plain']]); return [String(process.getuid())] }\n",
  )
  const private_ = tempDir()
  chmodSync(private_, 0o700)
  const sock = path.join(private_, 'root-only.sock')
  const ugn = await startUgn(path.join(appDir, 'whoami.mjs'), ['-u', 'nobody', '-g', 'nogroup', '-b', `unix:${sock}`])
  try {
    t.is((await unixGet(sock, '/')).body, '65534', 'a worker running as nobody serves the socket the master bound as root')
    t.is(statSync(sock).uid, 0, 'the socket file belongs to the master user')
  } finally {
    t.is(await ugn.stop('SIGTERM'), 0)
  }
})
