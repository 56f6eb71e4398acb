#!/usr/bin/env node
// Runs every fuzz target in fuzz/ for a bounded time and reports executions and findings
// (docs/reliability.md):
//
//   node scripts/fuzz.mjs [SECONDS]
//
// SECONDS (default 60) is the fuzzing time for all targets together, shared equally. cargo-fuzz
// is installed first if it is missing (`cargo install cargo-fuzz --locked`, about a minute);
// the targets build with the stable toolchain through RUSTC_BOOTSTRAP=1. Each target starts
// from fuzz/corpus/seed (the Gunicorn request corpus) and its own fuzz/corpus/TARGET, which
// keeps what earlier runs found (not committed). A finding is saved under fuzz/artifacts/TARGET
// and printed with the command that replays it. The last lines count the targets TAP-style
// ("# pass N", "# fail M") for scripts/test.mjs; the exit status is 1 if anything was found.

import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const fuzzDir = join(root, 'fuzz')
const TARGETS = ['codec_stream', 'head_prefixes', 'proxy_prefixes']
const total = Number(process.argv[2] ?? 60)
if (!(total > 0)) {
  console.error('usage: node scripts/fuzz.mjs [SECONDS]')
  process.exit(2)
}
const env = { ...process.env, RUSTC_BOOTSTRAP: '1' }

function seconds(since) {
  return ((performance.now() - since) / 1000).toFixed(1)
}

function step(what, command, args) {
  const start = performance.now()
  const result = spawnSync(command, args, { cwd: fuzzDir, env, stdio: ['ignore', 'inherit', 'inherit'] })
  console.log(`# ${what}: ${result.status === 0 ? 'done' : `failed (status ${result.status})`} in ${seconds(start)} s`)
  return result.status === 0
}

function run(target, time) {
  return new Promise((done) => {
    mkdirSync(join(fuzzDir, 'corpus', target), { recursive: true })
    const args = [
      'fuzz', 'run', target, `corpus/${target}`, 'corpus/seed', '--',
      `-max_total_time=${time}`, '-max_len=20000', '-malloc_limit_mb=256', '-print_final_stats=1',
    ]
    const child = spawn('cargo', args, { cwd: fuzzDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => {
      const runs = /stat::number_of_executed_units:\s*(\d+)/.exec(out) ?? /Done (\d+) runs/.exec(out)
      const artifact = /Test unit written to (\S+)/.exec(out)
      const panic = /panicked at [^\n]*\n[^\n]*/.exec(out)
      done({ target, code, runs: runs ? Number(runs[1]) : 0, artifact: artifact?.[1], panic: panic?.[0], out })
    })
  })
}

const haveFuzz = spawnSync('cargo', ['fuzz', '--version'], { stdio: 'ignore' }).status === 0
if (!haveFuzz && !step('installing cargo-fuzz', 'cargo', ['install', 'cargo-fuzz', '--locked'])) {
  console.log(`# pass 0\n# fail ${TARGETS.length}`)
  process.exit(1)
}
if (!step('building the fuzz targets', 'cargo', ['fuzz', 'build'])) {
  console.log(`# pass 0\n# fail ${TARGETS.length}`)
  process.exit(1)
}

const share = Math.max(1, Math.floor(total / TARGETS.length))
let passed = 0
let failed = 0
for (const target of TARGETS) {
  const result = await run(target, share)
  const clean = result.code === 0 && !result.artifact
  if (clean) {
    passed += 1
    console.log(`ok fuzz ${target}: ${result.runs} executions in ${share} s, no findings`)
  } else {
    failed += 1
    console.log(`not ok fuzz ${target}: status ${result.code} after ${result.runs} executions`)
    if (result.panic) console.log(result.panic)
    if (result.artifact) {
      console.log(`  saved: fuzz/${result.artifact.replace(`${fuzzDir}/`, '')}`)
      console.log(`  replay: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${target} ${result.artifact})`)
    } else {
      console.log(result.out.split('\n').slice(-20).join('\n'))
    }
  }
}
console.log(`# pass ${passed}\n# fail ${failed}`)
process.exit(failed > 0 ? 1 : 0)
