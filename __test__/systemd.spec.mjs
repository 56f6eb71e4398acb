// systemd socket activation, simulated as systemd does it: another process (a Python stand-in
// for systemd) binds and listens, puts the socket at descriptor 3, sets LISTEN_FDS=1 and
// LISTEN_PID to its own pid, and execs node, which keeps that pid.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import test from 'ava'

import { appPath, CLI, killAll, PATIENCE_MS, ROOT, sleep, waitFor } from './helpers/ugn.mjs'

const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-systemd-'))
const children = []

test.after.always(() => {
  for (const child of children) child.kill('SIGKILL')
  killAll()
  rmSync(dir, { recursive: true, force: true })
})

const SYSTEMD = `
import os, socket, sys
where, owner, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
if where == 'tcp':
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    print(s.getsockname()[1], flush=True)
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(where)
s.listen(128)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ['LISTEN_FDS'] = '1'
os.environ['LISTEN_PID'] = str(os.getpid()) if owner == 'self' else owner
os.execv(argv[0], argv)
`

/** Starts ugn on a socket bound by the stand-in: 'tcp' (127.0.0.1, a free port) or a Unix
 * socket path; `owner` 'self' for a real activation, or another pid. */
function activated(where, args, owner = 'self') {
  const child = spawn('python3', ['-c', SYSTEMD, where, owner, process.execPath, CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let log = ''
  let out = ''
  child.stderr.setEncoding('utf8').on('data', (d) => (log += d))
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d))
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  const port = () => waitFor(() => /^\d+\n/.test(out), PATIENCE_MS, 'the stand-in to print its port').then(() => Number(out.split('\n')[0]))
  return { child, log: () => log, exited, port }
}

function request(options) {
  return new Promise((resolve, reject) => {
    http
      .get({ ...options, agent: false, timeout: 2000 }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d) => (body += d))
        res.on('end', () => resolve(body))
      })
      .on('error', reject)
      .on('timeout', function () {
        this.destroy(new Error('timeout'))
      })
  })
}

async function answered(options) {
  let body
  await waitFor(
    async () => {
      body = await request(options).catch(() => undefined)
      return body !== undefined
    },
    20_000,
    'a response on the activated socket',
    100,
  )
  return body
}

async function stop(ugn) {
  ugn.child.kill('SIGTERM')
  return Promise.race([ugn.exited, sleep(20_000).then(() => 'timeout')])
}

// --bind names a directory that does not exist: binding it would fail, so serving proves it
// was not used.
const UNUSABLE_BIND = ['--bind', `unix:${path.join(dir, 'missing', 'ugn.sock')}`]

test('a TCP socket passed by systemd is served instead of --bind; workers do not see the variables', async (t) => {
  const ugn = activated('tcp', [appPath('systemd-env.mjs'), '--workers', '2', ...UNUSABLE_BIND])
  const port = await ugn.port()
  t.is(await answered({ host: '127.0.0.1', port }), 'LISTEN_FDS=unset LISTEN_PID=unset')
  t.regex(ugn.log(), /Serving 1 socket\(s\) from systemd socket activation; bind is not used/)
  t.regex(ugn.log(), new RegExp(`Listening at: http://127\\.0\\.0\\.1:${port} `))
  t.is(await stop(ugn), 0)
})

test('a Unix socket passed by systemd is served', async (t) => {
  const socketPath = path.join(dir, 'activated.sock')
  const ugn = activated(socketPath, [appPath('systemd-env.mjs'), ...UNUSABLE_BIND])
  t.is(await answered({ socketPath, path: '/' }), 'LISTEN_FDS=unset LISTEN_PID=unset')
  t.is(await stop(ugn), 0)
})

test('variables meant for another process are ignored: --bind is used', async (t) => {
  const socketPath = path.join(dir, 'own.sock')
  const ugn = activated('tcp', [appPath('systemd-env.mjs'), '--bind', `unix:${socketPath}`], '1')
  t.is(await answered({ socketPath, path: '/' }), 'LISTEN_FDS=unset LISTEN_PID=unset')
  t.notRegex(ugn.log(), /systemd socket activation/)
  t.is(await stop(ugn), 0)
})
