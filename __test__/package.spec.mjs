// ugn as users get it: `npm pack` of ugn (with the package.json the publish job's `napi
// pre-publish` writes) and of its linux-x64-gnu binary package, both installed into a fresh
// project outside the repository, then `npx ugn` there. Also: the napi targets, the npm/ platform
// packages and the published optionalDependencies name the same platforms, and a platform without
// a binary gets an error that says what was looked for.

import test from 'ava'
import { execFile, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { publishedManifest } from './helpers/published.mjs'
import { appSource, get, isAlive, ROOT, waitFor } from './helpers/ugn.mjs'

const run = promisify(execFile)
const rootPkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const { binaryName, packageName, targets } = rootPkg.napi

/** napi-rs's platform name for a Rust target triple: x86_64-unknown-linux-gnu -> linux-x64-gnu. */
function platformOf(triple) {
  const [arch, , os, abi] = triple.split('-')
  const cpu = { x86_64: 'x64', aarch64: 'arm64' }[arch]
  return os === 'linux' ? { os, cpu, abi, name: `linux-${cpu}-${abi}` } : { os, cpu, name: `${os}-${cpu}` }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ugn-package-'))
test.after.always(() => rmSync(tmp, { recursive: true, force: true }))

// Made once, for the tests below that need ugn as published.
const published = path.join(tmp, 'published')
const publishedPkg = publishedManifest(published)

test('the napi targets, the npm/ platform packages and the published optionalDependencies agree', async (t) => {
  const platforms = targets.map(platformOf)
  t.deepEqual(readdirSync(path.join(ROOT, 'npm')).sort(), platforms.map((p) => p.name).sort())
  // Only the published package.json names the platform packages (helpers/published.mjs says why).
  t.is(rootPkg.optionalDependencies, undefined)
  const { optionalDependencies, ...rest } = await publishedPkg
  t.deepEqual(optionalDependencies, Object.fromEntries(platforms.map((p) => [`${packageName}-${p.name}`, rootPkg.version])))
  t.deepEqual(rest, rootPkg)
  for (const p of platforms) {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'npm', p.name, 'package.json'), 'utf8'))
    const file = `${binaryName}.${p.name}.node`
    t.is(pkg.name, `${packageName}-${p.name}`)
    t.is(pkg.version, rootPkg.version)
    t.deepEqual(pkg.os, [p.os])
    t.deepEqual(pkg.cpu, [p.cpu])
    t.deepEqual(pkg.libc, p.abi === undefined ? undefined : [p.abi === 'gnu' ? 'glibc' : 'musl'], p.name)
    t.is(pkg.main, file)
    t.deepEqual(pkg.files, [file])
  }
})

// Child processes this file started, killed whatever happened.
const children = new Set()
test.after.always(() => {
  for (const pid of children) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  }
})

/** Where Node resolves `request` from `dir`, or the error's code. */
async function resolveFrom(dir, request) {
  const script = `try { console.log(require.resolve(${JSON.stringify(request)})) } catch (e) { console.log(e.code) }`
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: dir, env: isolatedEnv(), timeout: 10_000 })
  return stdout.trim()
}

/** The environment without anything that could point Node or napi-rs back at the repository. */
function isolatedEnv() {
  const env = { ...process.env }
  delete env.NODE_PATH
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  return env
}

test('npm pack, npm install in a fresh project, npx ugn answers', async (t) => {
  const platform = 'linux-x64-gnu'
  if (`${process.platform}-${process.arch}` !== 'linux-x64') return t.pass(`no ${platform} binary is built here`)
  const npm = (args, cwd) =>
    run('npm', [...args, '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd, env: isolatedEnv(), timeout: 120_000 })

  // The platform package gets the binary `npm run build` left in the repository root, in a
  // staging copy, as `napi artifacts` places it before publishing.
  const staged = path.join(tmp, 'binding')
  const binary = `${binaryName}.${platform}.node`
  cpSync(path.join(ROOT, 'npm', platform), staged, { recursive: true })
  cpSync(path.join(ROOT, binary), path.join(staged, binary))
  // ugn itself: the files npm packs from the repository, with the published package.json.
  const stagedRoot = path.join(tmp, 'ugn')
  const { stdout } = await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT)
  for (const { path: file } of JSON.parse(stdout)[0].files) cpSync(path.join(ROOT, file), path.join(stagedRoot, file))
  await publishedPkg
  cpSync(path.join(published, 'package.json'), path.join(stagedRoot, 'package.json'))
  const tarballs = path.join(tmp, 'tarballs')
  mkdirSync(tarballs)
  await npm(['pack', '--ignore-scripts', '--pack-destination', tarballs, stagedRoot], tmp)
  await npm(['pack', '--ignore-scripts', '--pack-destination', tarballs, staged], tmp)
  const packed = [`ugn-${rootPkg.version}.tgz`, `ugn-binding-${platform}-${rootPkg.version}.tgz`]
  t.deepEqual(readdirSync(tarballs).sort(), [...packed].sort())

  const project = path.join(tmp, 'project')
  mkdirSync(project)
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'ugn-user', private: true }))
  writeFileSync(path.join(project, 'app.mjs'), appSource('hello from the packed ugn'))
  await npm(['install', ...packed.map((f) => path.join(tarballs, f))], project)

  // Everything resolves inside the project: ugn, its binary package, and the loader finds no
  // binary next to itself, so it must take the package's.
  const installed = path.join(project, 'node_modules')
  t.is(await resolveFrom(project, 'ugn/package.json'), path.join(installed, 'ugn', 'package.json'))
  const bindingPackage = path.join(installed, `${packageName}-${platform}`)
  t.is(await resolveFrom(path.join(installed, 'ugn'), `${packageName}-${platform}`), path.join(bindingPackage, binary))
  t.is(await resolveFrom(path.join(installed, 'ugn'), 'commander'), path.join(installed, 'commander', 'index.js'))
  t.false(existsSync(path.join(installed, 'ugn', binary)))
  // Nothing above the project (the repository, a stray node_modules in the temp dir) provides ugn.
  t.false(project.startsWith(ROOT + path.sep))
  t.is(await resolveFrom(tmp, 'ugn'), 'MODULE_NOT_FOUND')

  // `--no`: never fetch a `ugn` from the registry if the local one were missing.
  const child = spawn('npx', ['--no', 'ugn', 'app:app', '--bind', '127.0.0.1:0'], {
    cwd: project,
    env: isolatedEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child.pid)
  let log = ''
  child.stdout.on('data', (d) => (log += d))
  child.stderr.on('data', (d) => (log += d))
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  let exitInfo
  exited.then((info) => (exitInfo = info))

  const [, url, pid] = await waitFor(
    () => {
      if (exitInfo) throw new Error(`npx ugn exited early (${JSON.stringify(exitInfo)}):\n${log}`)
      return /Listening at: (\S+) \((\d+)\)/.exec(log)
    },
    30_000,
    '"Listening at:"',
  )
  const masterPid = Number(pid)
  children.add(masterPid)
  // The master mapped the binary from the project's node_modules, not from the repository.
  const maps = readFileSync(`/proc/${masterPid}/maps`, 'utf8')
  t.true(maps.includes(path.join(bindingPackage, binary)))
  t.false(maps.includes(ROOT + path.sep))

  const res = await get(url)
  t.is(res.status, 200)
  t.is(await res.text(), 'hello from the packed ugn')

  process.kill(masterPid, 'SIGTERM')
  // unref: a pending timer would keep this test file's process alive after the race is won.
  const result = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000, 'timeout').unref())])
  t.not(result, 'timeout', log)
  t.false(isAlive(masterPid))
})

test('with no binary for the platform, the error names the platform and the packages', async (t) => {
  // The built JavaScript, the loader and the published package.json, without any binary beside
  // them or node_modules above.
  const bare = path.join(tmp, 'bare')
  for (const f of ['dist', 'binding.cjs']) cpSync(path.join(ROOT, f), path.join(bare, f), { recursive: true })
  const { optionalDependencies } = await publishedPkg
  cpSync(path.join(published, 'package.json'), path.join(bare, 'package.json'))
  const error = await run(process.execPath, ['--input-type=module', '-e', "await import('./dist/native.js')"], {
    cwd: bare,
    env: isolatedEnv(),
    timeout: 20_000,
  }).then(
    () => undefined,
    (err) => err,
  )
  t.truthy(error, 'loading the binding succeeded without a binary')
  const platform = process.platform === 'linux' ? `linux-${process.arch}-` : `${process.platform}-${process.arch}`
  t.regex(error.stderr, new RegExp(`could not load its native binary for ${platform}`))
  t.true(error.stderr.includes(`Prebuilt packages exist for: ${Object.keys(optionalDependencies).join(', ')}`))
})
