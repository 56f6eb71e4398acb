#!/usr/bin/env node
// The system tools `npm test` needs besides Node.js and npm, each with how to tell it is there and
// how to install it. scripts/test.mjs checks them before running any suite, so that a missing one
// is named at once rather than failing a test halfway through; README.md and .ci/run name the same
// Debian packages.
//
//   node scripts/prerequisites.mjs                   one line per missing tool; exit status 1 if any
//   node scripts/prerequisites.mjs --packages debian the Debian packages of the missing tools
//   node scripts/prerequisites.mjs --packages brew   the Homebrew formulas of the missing tools

import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The command's output (stdout then stderr), or undefined if it cannot run or fails. */
function output(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] })
  return r.error || r.status !== 0 ? undefined : `${r.stdout}${r.stderr}`
}

/** nginx's stream module as an nginx config needs it: { loadModule } (the `load_module` line, empty
 * when the module is built in) or { missing } (why it cannot be had). */
export function nginxStream() {
  // nginx -V prints its configure arguments to stderr.
  const version = output('nginx', ['-V'])
  if (version === undefined) return { missing: 'nginx cannot run' }
  if (/--with-stream(\s|$)/.test(version)) return { loadModule: '' }
  if (/--with-stream=dynamic/.test(version)) {
    const modules = /--modules-path=(\S+)/.exec(version)?.[1] ?? '/usr/lib/nginx/modules'
    const so = path.join(modules, 'ngx_stream_module.so')
    if (existsSync(so)) return { loadModule: `load_module ${so};\n` }
    return { missing: `nginx's stream module is a dynamic module and ${so} is not installed` }
  }
  return { missing: 'this nginx is built without the stream module' }
}

/** Each tool: its name, what needs it, the commands it provides (__test__/prerequisites.spec.mjs
 * takes them off PATH one at a time), whether it is there, and how to install it: a Debian package,
 * a Homebrew formula, or else a sentence. `linuxOnly`: macOS does without it. */
export const PREREQUISITES = [
  {
    name: 'cargo (a Rust toolchain)',
    // rustfmt and clippy, which npm test runs too, come with it in rustup's default profile.
    for: "the addon's build, rustfmt, clippy, the crates' tests and the fuzz targets",
    commands: ['cargo'],
    present: () => output('cargo', ['--version']) !== undefined,
    otherwise: 'install Rust with rustup (https://rustup.rs)',
  },
  {
    name: 'c++ (a C and C++ compiler)',
    for: 'linking Rust code, and building libFuzzer for the fuzz targets',
    commands: ['c++'],
    present: () => output('c++', ['--version']) !== undefined,
    debian: 'g++',
    otherwise: 'install the Xcode command line tools (xcode-select --install)',
  },
  {
    name: 'openssl',
    for: 'the TLS, HTTP/2 and nginx tests make their certificates with it',
    commands: ['openssl'],
    present: () => output('openssl', ['version']) !== undefined,
    debian: 'openssl',
    brew: 'openssl',
  },
  {
    name: 'curl with HTTP/2',
    for: 'the HTTP/2 tests run curl --http2 and --http2-prior-knowledge',
    commands: ['curl'],
    present: () => /^Features:.*\bHTTP2\b/m.test(output('curl', ['--version']) ?? ''),
    debian: 'curl',
    brew: 'curl',
  },
  {
    name: 'nginx with its stream module',
    for: 'the nginx tests put nginx in front of ugn, the stream module for the PROXY protocol',
    commands: ['nginx'],
    present: () => nginxStream().missing === undefined,
    debian: 'nginx libnginx-mod-stream',
    brew: 'nginx',
  },
  {
    name: 'python3',
    for: "the systemd test plays systemd's part (socket activation, sd_notify) in Python",
    commands: ['python3'],
    present: () => output('python3', ['--version']) !== undefined,
    debian: 'python3',
    brew: 'python',
  },
  {
    name: 'ps',
    for: "the daemon test reads a process's session with it",
    commands: ['ps'],
    present: () => output('ps', ['-o', 'sid=', '-p', String(process.pid)]) !== undefined,
    debian: 'procps',
  },
  {
    name: 'wrk',
    for: 'the short benchmark measures with it',
    commands: ['wrk'],
    // wrk -v prints its version and exits with status 1.
    present: () => /^wrk /m.test(spawnSync('wrk', ['-v'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? ''),
    debian: 'wrk',
    brew: 'wrk',
  },
  {
    name: 'taskset',
    for: 'the short benchmark pins the server and the load generator to their cores',
    commands: ['taskset'],
    present: () => output('taskset', ['-p', String(process.pid)]) !== undefined,
    debian: 'util-linux',
    linuxOnly: true,
  },
]

const here = PREREQUISITES.filter((p) => !p.linuxOnly || process.platform === 'linux')

/** How to install `p` on this platform. */
export function installHint(p) {
  if (process.platform === 'linux' && p.debian) return `on Debian or Ubuntu: apt-get install ${p.debian}`
  if (process.platform === 'darwin' && p.brew) return `brew install ${p.brew}`
  return p.otherwise ?? `install it with your package manager (Debian: ${p.debian})`
}

/** One line for each missing tool, saying what needs it and how to install it. */
export function missingPrerequisites() {
  return here.filter((p) => !p.present()).map((p) => `missing: ${p.name} (${p.for}); ${installHint(p)}`)
}

/** For scripts/test.mjs: prints a line for each missing tool and exits 1, if any is missing. */
export function exitIfMissing() {
  const missing = missingPrerequisites()
  if (missing.length === 0) return
  for (const line of missing) console.error(line)
  process.exit(1)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [flag, manager] = process.argv.slice(2)
  if (flag === undefined) {
    exitIfMissing()
  } else if (flag === '--packages' && (manager === 'debian' || manager === 'brew')) {
    const names = here.filter((p) => p[manager] && !p.present()).flatMap((p) => p[manager].split(' '))
    if (names.length > 0) console.log(names.join(' '))
  } else {
    console.error('usage: node scripts/prerequisites.mjs [--packages debian|brew]')
    process.exit(2)
  }
}
