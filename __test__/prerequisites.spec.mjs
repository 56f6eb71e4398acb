// npm test's check of the system tools it needs (scripts/prerequisites.mjs): with one tool taken
// off PATH, scripts/test.mjs stops before running anything, with one line naming that tool and
// how to install it, and exit status 1. PATH is this process's, less the tool's command, or with a
// stand-in ahead of it that lacks what the tests need (nginx without its stream module, curl
// without HTTP/2). README.md and .ci/run name the same packages.

import test from 'ava'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { installHint, PREREQUISITES } from '../scripts/prerequisites.mjs'
import { ROOT } from './helpers/ugn.mjs'

const here = PREREQUISITES.filter((p) => !p.linuxOnly || process.platform === 'linux')
const manager = process.platform === 'darwin' ? 'brew' : 'debian'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ugn-prerequisites-'))
test.after.always(() => rmSync(tmp, { recursive: true, force: true }))

let dirs = 0
const newDir = () => {
  const dir = path.join(tmp, String(dirs++))
  mkdirSync(dir)
  return dir
}

/** This process's PATH with `commands` taken off: each directory holding one of them is replaced
 * by a directory of links to everything else it holds. First come the stand-in scripts, if any. */
function pathWithout(commands, standIns = {}) {
  const entries = []
  if (Object.keys(standIns).length > 0) {
    const dir = newDir()
    for (const [command, script] of Object.entries(standIns)) writeFileSync(path.join(dir, command), `#!/bin/sh\n${script}`, { mode: 0o755 })
    entries.push(dir)
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    let names
    try {
      names = readdirSync(dir)
    } catch {
      names = []
    }
    if (!commands.some((c) => names.includes(c))) {
      entries.push(dir)
      continue
    }
    const mirror = newDir()
    for (const name of names) if (!commands.includes(name)) symlinkSync(path.join(dir, name), path.join(mirror, name))
    entries.push(mirror)
  }
  return entries.join(path.delimiter)
}

/** Runs a script of the repository with `node` and the given PATH. */
function runNode(PATH, args) {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { ...process.env, PATH }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }),
    )
  })
}

/** scripts/test.mjs stops at once with exactly the line for `p`. */
async function stopsNaming(t, PATH, p) {
  const { code, stdout, stderr } = await runNode(PATH, ['scripts/test.mjs'])
  t.is(code, 1)
  // Nothing ran: every suite would print to stdout.
  t.is(stdout, '')
  const lines = stderr.split('\n').filter(Boolean)
  t.is(lines.length, 1, stderr)
  t.true(lines[0].startsWith(`missing: ${p.name} (${p.for}); `), lines[0])
  t.true(lines[0].endsWith(`; ${installHint(p)}`), lines[0])
  if (p[manager]) t.true(lines[0].endsWith(`${manager === 'debian' ? 'apt-get' : 'brew'} install ${p[manager]}`), lines[0])
  t.notRegex(stderr, /^\s+at /m, 'no stack trace')
}

test('with every tool on PATH, the check prints nothing and exits 0', async (t) => {
  t.deepEqual(await runNode(process.env.PATH, ['scripts/prerequisites.mjs']), { code: 0, stdout: '', stderr: '' })
  t.deepEqual(await runNode(process.env.PATH, ['scripts/prerequisites.mjs', '--packages', manager]), { code: 0, stdout: '', stderr: '' })
})

for (const p of here) {
  test(`without ${p.commands.join(', ')} on PATH, npm test stops at once naming ${p.name}`, async (t) => {
    const PATH = pathWithout(p.commands)
    await stopsNaming(t, PATH, p)
    // What .ci/run and the workflow then install.
    const { stdout } = await runNode(PATH, ['scripts/prerequisites.mjs', '--packages', manager])
    t.is(stdout, p[manager] ? `${p[manager]}\n` : '')
  })
}

test('an nginx without its stream module is named as missing', async (t) => {
  const modules = path.join(tmp, 'no-modules')
  mkdirSync(modules)
  const nginx = `echo "nginx version: nginx/1.22.1" >&2\necho "configure arguments: --modules-path=${modules} --with-stream=dynamic" >&2\n`
  await stopsNaming(t, pathWithout([], { nginx }), PREREQUISITES.find((p) => p.commands.includes('nginx')))
})

test('a curl without HTTP/2 is named as missing', async (t) => {
  const curl = 'echo "curl 7.88.1 (x86_64-pc-linux-gnu)"\necho "Features: alt-svc AsynchDNS IPv6 Largefile libz SSL UnixSockets"\n'
  await stopsNaming(t, pathWithout([], { curl }), PREREQUISITES.find((p) => p.commands.includes('curl')))
})

test('README.md and .ci/run name the packages the check installs', (t) => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ')
  const listed = (pattern) => pattern.exec(readme)?.[1].split(' ').sort()
  const packages = (key) => PREREQUISITES.flatMap((p) => (p[key] ? p[key].split(' ') : [])).sort()
  t.deepEqual(listed(/on Debian or Ubuntu: `apt-get install ([^`]+)`/), packages('debian'))
  t.deepEqual(listed(/on macOS: `brew install ([^`]+)`/), packages('brew'))
  t.regex(readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8'), /\$\(node scripts\/prerequisites\.mjs --packages debian\)/)
})
