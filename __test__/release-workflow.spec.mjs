// The release as .github/workflows/ci.yml makes it, checked against package.json and npm/
// (the workflow itself only runs on GitHub): every napi target is built, with the cross
// toolchain its libc needs, and uploaded under a name the publish job collects; every target
// has its platform package; the tests run on Linux and macOS with each Node line package.json
// admits; a tag publishes every platform package, then ugn with them as its optionalDependencies. And `npm pack` of ugn holds
// only what users need, and `ugn` on Windows says it does not run there.

import test from 'ava'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { promisify } from 'node:util'
import { PRE_PUBLISH } from './helpers/published.mjs'
import { ROOT } from './helpers/ugn.mjs'

const run = promisify(execFile)

// js-yaml, as @napi-rs/cli (a devDependency) depends on it, rather than a dependency of ugn's own.
const yaml = createRequire(createRequire(path.join(ROOT, 'package.json')).resolve('@napi-rs/cli/package.json'))('js-yaml')

const WORKFLOW_FILE = path.join(ROOT, '.github', 'workflows', 'ci.yml')
const workflow = yaml.load(readFileSync(WORKFLOW_FILE, 'utf8'))
const rootPkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const { binaryName, packageName, targets } = rootPkg.napi

/** napi-rs's platform for a Rust target triple, with the npm os/cpu/libc it means. */
function platformOf(triple) {
  const [arch, , os, abi] = triple.split('-')
  const cpu = { x86_64: 'x64', aarch64: 'arm64' }[arch]
  const platform = os === 'linux' ? `linux-${cpu}-${abi}` : `${os}-${cpu}`
  return { triple, os, cpu, libc: os === 'linux' ? (abi === 'gnu' ? 'glibc' : 'musl') : undefined, name: platform }
}

const platforms = targets.map(platformOf)

/** The combinations a job's matrix expands to, as GitHub Actions expands them: an include entry
 * extends every original combination whose original values it agrees with, or else stands alone. */
function expand(matrix) {
  const { include = [], exclude = [], ...axes } = matrix
  const keys = Object.keys(axes)
  let originals = keys.length === 0 ? [] : [{}]
  for (const [key, values] of Object.entries(axes)) originals = originals.flatMap((c) => values.map((v) => ({ ...c, [key]: v })))
  originals = originals.filter((c) => !exclude.some((e) => Object.entries(e).every(([k, v]) => c[k] === v)))
  const combos = originals.map((c) => ({ ...c }))
  const added = []
  for (const extra of include) {
    let matched = false
    originals.forEach((original, i) => {
      if (Object.entries(extra).every(([k, v]) => !keys.includes(k) || original[k] === v)) {
        Object.assign(combos[i], extra)
        matched = true
      }
    })
    if (!matched) added.push({ ...extra })
  }
  return [...combos, ...added]
}

const steps = (job) => workflow.jobs[job].steps
const runs = (job) => steps(job).flatMap((s) => (s.run ? [s.run] : []))

test('the workflow is YAML with the expected jobs, run on pushes, pull requests and v* tags', (t) => {
  t.deepEqual(Object.keys(workflow.jobs).sort(), ['bench', 'build', 'publish', 'smoke', 'test'])
  t.true(workflow.on.push.tags.includes('v*'))
  t.true('pull_request' in workflow.on)
})

test('every napi target has a build entry, cross-compiled as napi-rs does, uploaded as an artifact', (t) => {
  const builds = expand(workflow.jobs.build.strategy.matrix)
  t.deepEqual(builds.map((b) => b.target).sort(), [...targets].sort())
  const build = runs('build').join('\n')
  t.regex(build, /npm run build:native -- --target \$\{\{ matrix\.target \}\} \$\{\{ matrix\.cross \}\}/)
  // build:native is napi build --platform --release, so the binary is named for its platform.
  t.regex(rootPkg.scripts['build:native'], /^napi build --platform --release\b/)
  for (const p of platforms) {
    const entry = builds.find((b) => b.target === p.triple)
    t.is(entry.platform, p.name, p.triple)
    if (p.os === 'darwin') {
      t.regex(entry.host, /^macos-/, p.triple)
      t.is(entry.cross, '', p.triple)
    } else {
      t.regex(entry.host, /^ubuntu-/, p.triple)
      // glibc: napi-rs's cross toolchain (and its old glibc); musl: cargo-zigbuild.
      t.is(entry.cross, p.libc === 'glibc' ? '--use-napi-cross' : '--cross-compile', p.triple)
    }
  }
  const zig = steps('build').find((s) => String(s.uses).startsWith('mlugg/setup-zig'))
  t.is(zig?.if, "contains(matrix.target, 'musl')")
  const rust = steps('build').find((s) => String(s.uses).startsWith('dtolnay/rust-toolchain'))
  t.is(rust.with.targets, '${{ matrix.target }}')
  const upload = steps('build').find((s) => String(s.uses).startsWith('actions/upload-artifact'))
  t.is(upload.with.name, 'bindings-${{ matrix.target }}')
  t.is(upload.with.path, `${binaryName}.\${{ matrix.platform }}.node`)
  t.is(upload.with['if-no-files-found'], 'error')
})

test('every napi target has an npm/<platform> package with its os, cpu, libc, name and version', (t) => {
  for (const p of platforms) {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'npm', p.name, 'package.json'), 'utf8'))
    t.is(pkg.name, `${packageName}-${p.name}`)
    t.is(pkg.version, rootPkg.version)
    t.deepEqual(pkg.os, [p.os])
    t.deepEqual(pkg.cpu, [p.cpu])
    t.deepEqual(pkg.libc, p.libc === undefined ? undefined : [p.libc], p.name)
    t.deepEqual(pkg.files, [`${binaryName}.${p.name}.node`])
    t.is(pkg.license, rootPkg.license)
    t.deepEqual(pkg.engines, rootPkg.engines)
  }
  // The publish job's `napi pre-publish` declares them as optionalDependencies; the repository's
  // package.json does not (helpers/published.mjs says why, package.spec.mjs checks what napi writes).
  t.is(rootPkg.optionalDependencies, undefined)
  // ugn itself installs only where a platform package can.
  t.deepEqual([...rootPkg.os].sort(), [...new Set(platforms.map((p) => p.os))].sort())
})

/** The parts of a range like "^20.19.0 || ^22.12.0 || >=24": [operator, major, minor, patch]. */
function rangeParts(range) {
  return range.split('||').map((part) => {
    const m = /^\s*(\^|>=)\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(part)
    if (!m) throw new Error(`engines.node part ${JSON.stringify(part)} is not ^X.Y.Z or >=X.Y.Z`)
    return [m[1], Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)]
  })
}

/** Whether the range admits version [major, minor, patch]. */
function admits(range, version) {
  const atLeast = (v, min) => v[0] !== min[0] ? v[0] > min[0] : v[1] !== min[1] ? v[1] > min[1] : v[2] >= min[2]
  return rangeParts(range).some(([op, ...min]) => atLeast(version, min) && (op === '>=' || version[0] === min[0]))
}

test('the tests run on Linux and macOS with Node 20, 22 and 24, each admitted by engines, which starts at 20', (t) => {
  const jobs = expand(workflow.jobs.test.strategy.matrix)
  const nodes = [...new Set(jobs.map((j) => j.node))].sort()
  for (const node of [20, 22, 24]) t.true(nodes.includes(node), `node ${node}`)
  for (const node of nodes) {
    const on = jobs.filter((j) => j.node === node).map((j) => j.host)
    t.true(on.some((h) => h.startsWith('ubuntu-')), `node ${node} on Linux`)
    t.true(on.some((h) => h.startsWith('macos-')), `node ${node} on macOS`)
  }
  // Each test job runs the binary the build job made for its host.
  for (const j of jobs) {
    t.true(targets.includes(j.target), `${j.host} tests ${j.target}`)
    t.is(j.host.startsWith('macos-'), j.target.endsWith('-apple-darwin'), j.host)
    t.is(j.host.endsWith('-arm'), j.target.startsWith('aarch64-') && !j.host.startsWith('macos-'), j.host)
  }
  const download = steps('test').find((s) => String(s.uses).startsWith('actions/download-artifact'))
  t.is(download.with.name, 'bindings-${{ matrix.target }}')
  t.is(steps('test').find((s) => s.uses?.startsWith('actions/setup-node')).with['node-version'], '${{ matrix.node }}')
  t.deepEqual(runs('test').slice(-2), ['npm run build:ts', 'npm test'])

  // engines: no Node before 20, and the latest release of every tested line admitted, as
  // setup-node installs it. README says the same minimums.
  const range = rootPkg.engines.node
  t.true(rangeParts(range).every(([, major]) => major >= 20), range)
  t.false(admits(range, [19, 99, 0]))
  for (const node of nodes) t.true(admits(range, [node, 99, 0]), `node ${node}`)
  const minimums = rangeParts(range).map(([, ...v]) => `${v[2] === 0 && v[1] === 0 ? v[0] : v.slice(0, v[2] === 0 ? 2 : 3).join('.')}+`)
  t.true(readFileSync(path.join(ROOT, 'README.md'), 'utf8').includes(`It needs Node.js ${minimums.slice(0, -1).join(', ')} or ${minimums.at(-1)}.`), minimums.join(' '))
})

test('the test jobs install the system tools npm test needs, as scripts/prerequisites.mjs names them, before testing', (t) => {
  const all = steps('test')
  const at = (predicate) => all.findIndex(predicate)
  const linux = at((s) => s.if === "runner.os == 'Linux'" && /\$\(node scripts\/prerequisites\.mjs --packages debian\)/.test(s.run ?? ''))
  const macos = at((s) => s.if === "runner.os == 'macOS'" && /\$\(node scripts\/prerequisites\.mjs --packages brew\)/.test(s.run ?? ''))
  t.true(linux >= 0, 'a Linux step installs the Debian packages')
  t.regex(all[linux].run, /sudo apt-get install -y \$packages/)
  t.true(macos >= 0, 'a macOS step installs the Homebrew formulas')
  t.regex(all[macos].run, /brew install \$formulas/)
  // After setup-node (the check runs on Node), before the tests.
  const node = at((s) => String(s.uses).startsWith('actions/setup-node'))
  const npmTest = at((s) => s.run === 'npm test')
  for (const i of [linux, macos]) t.true(node < i && i < npmTest, all[i].name)
  // Every host the tests run on is one of the two.
  for (const j of expand(workflow.jobs.test.strategy.matrix)) t.regex(j.host, /^(ubuntu|macos)-/)
})

test('the targets the full tests do not run are smoke-tested: musl in Alpine, darwin-x64 under Rosetta', (t) => {
  const fullyTested = new Set(expand(workflow.jobs.test.strategy.matrix).map((j) => j.target))
  const smoked = expand(workflow.jobs.smoke.strategy.matrix)
  t.deepEqual(
    [...new Set(smoked.map((s) => s.target))].sort(),
    targets.filter((target) => !fullyTested.has(target)).sort(),
  )
  for (const s of smoked) {
    if (s.target.includes('-linux-musl')) t.is(s.docker, s.target.startsWith('aarch64-') ? 'linux/arm64' : 'linux/amd64')
    else t.is(s.docker, '')
  }
  t.regex(runs('smoke').join('\n'), /node:\$\{\{ matrix\.node \}\}-alpine/)
})

test('the benchmark runs autocannon briefly and writes its Markdown to the job summary', (t) => {
  const bench = runs('bench').join('\n')
  t.regex(bench, /node bench\/run\.mjs --quick --tools autocannon --warmup 0 --duration \d+ /)
  t.regex(bench, />> "\$GITHUB_STEP_SUMMARY"/)
})

test('a v* tag publishes every platform package, then ugn, after the builds and tests pass', (t) => {
  const publish = workflow.jobs.publish
  t.is(publish.if, "startsWith(github.ref, 'refs/tags/v')")
  t.deepEqual([...publish.needs].sort(), ['build', 'smoke', 'test'])
  const download = publish.steps.find((s) => String(s.uses).startsWith('actions/download-artifact'))
  t.is(download.with.pattern, 'bindings-*')
  t.is(download.with.path, 'artifacts')
  const script = runs('publish').join('\n')
  t.regex(script, /npx napi artifacts --output-dir artifacts --npm-dir npm/)
  // After the binaries are in place and before anything is published, napi writes the
  // optionalDependencies into the package.json that `publish .` packs.
  const prePublish = script.indexOf(`npx napi ${PRE_PUBLISH.join(' ')}\n`)
  t.true(prePublish > script.indexOf('npx napi artifacts'), script)
  t.true(prePublish < script.indexOf('npm publish'), script)
  t.regex(script, /for dir in npm\/\*; do publish "\$dir"; done\npublish \.\n?$/)
  t.regex(script, /npm publish "\.\/\$1" --access public/)
  const token = publish.steps.find((s) => s.run?.includes('npm publish'))
  t.is(token.env.NODE_AUTH_TOKEN, '${{ secrets.NPM_TOKEN }}')
  t.is(publish.steps.find((s) => s.uses?.startsWith('actions/setup-node')).with['registry-url'], 'https://registry.npmjs.org')
})

// What users get: the compiled JavaScript and its declarations, the loader napi-rs generates and
// its declarations, README, LICENSE and package.json. No sources, tests, benchmarks, crates,
// scripts, docs or binaries (those come in the platform packages).
const ALLOWED = [/^dist\/.+\.js$/, /^dist\/.+\.d\.ts$/, /^binding\.cjs$/, /^binding\.d\.ts$/, /^README\.md$/, /^LICENSE$/, /^package\.json$/]

test('npm pack holds only what users need', async (t) => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel', 'error'], {
    cwd: ROOT,
    timeout: 60_000,
  })
  const [pack] = JSON.parse(stdout)
  const files = pack.files.map((f) => f.path).sort()
  t.deepEqual(
    files.filter((f) => !ALLOWED.some((re) => re.test(f))),
    [],
  )
  for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/worker.js', 'binding.cjs', 'binding.d.ts', 'README.md', 'LICENSE']) {
    t.true(files.includes(needed), needed)
  }
  // Every file the package's entry points name is in it.
  t.true(files.includes(rootPkg.bin.ugn))
  t.true(files.includes(rootPkg.main))
  t.true(files.includes(rootPkg.types))
  t.is(rootPkg.license, 'MIT')
  t.regex(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 the ugn authors\n/)
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
  t.log(`${pack.filename}: ${pack.entryCount} files, packed ${kib(pack.size)}, unpacked ${kib(pack.unpackedSize)}`)
})

test('ugn on Windows, the one platform npm could still be forced onto, stops with one line saying why', async (t) => {
  // process.platform made 'win32' before the CLI's first import runs.
  const pretend = 'data:text/javascript,Object.defineProperty(process, "platform", { value: "win32" })'
  const error = await run(process.execPath, ['--import', pretend, path.join(ROOT, rootPkg.bin.ugn), '--version'], {
    cwd: ROOT,
    timeout: 20_000,
  }).then(
    () => undefined,
    (err) => err,
  )
  t.truthy(error, 'ugn ran as if on Windows')
  t.is(error.code, 1)
  t.is(error.stdout, '')
  t.is(error.stderr, 'ugn: ugn runs on Linux and macOS only: its pre-fork model needs POSIX processes and signals (Windows is not supported; WSL is Linux)\n')
  t.regex(readFileSync(path.join(ROOT, 'README.md'), 'utf8'), /ugn runs on Linux and macOS \(like Gunicorn, it needs POSIX processes and signals\); on Windows\s+it stops with a message saying so/)
})
