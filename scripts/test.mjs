#!/usr/bin/env node
// Runs every suite (what a reviewer checks first: rustfmt, clippy and the strict TypeScript
// build; then the Rust crates with cargo, the codec's fuzz targets for a minute, the end-to-end
// tests with ava, Express's own tests on ugn's engine, a few seconds of benchmark) and ends with
// one line summing them: "N passed, M failed".

import { spawn } from 'node:child_process'
import { exitIfMissing } from './prerequisites.mjs'

// Before any suite: one line for each missing system tool, saying how to install it, then exit 1.
exitIfMissing()

function run(command, args, parse) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => {
      process.stdout.write(d)
      out += d
    })
    child.on('close', (code) => resolve({ code, ...parse(out, code) }))
  })
}

/** A check that is clean or not: one passed when it exits 0, one failed otherwise. */
function checkCounts(_out, code) {
  return code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 }
}

function cargoCounts(out) {
  let passed = 0
  let failed = 0
  for (const m of out.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1])
    failed += Number(m[2])
  }
  return { passed, failed }
}

function tapCounts(out) {
  const pass = /^# pass (\d+)/m.exec(out)
  const fail = /^# fail (\d+)/m.exec(out)
  return { passed: pass ? Number(pass[1]) : 0, failed: fail ? Number(fail[1]) : 0 }
}

function benchCounts(out) {
  const m = /^bench: (\d+) passed, (\d+) failed/m.exec(out)
  return { passed: m ? Number(m[1]) : 0, failed: m ? Number(m[2]) : 0 }
}

const EXPRESS = 'compat/express'

const suites = [
  ['cargo', ['fmt', '--all', '--', '--check'], checkCounts],
  ['cargo', ['fmt', '--all', '--manifest-path', 'fuzz/Cargo.toml', '--', '--check'], checkCounts],
  ['cargo', ['clippy', '--workspace', '--all-targets', '--color', 'never', '--', '-D', 'warnings'], checkCounts],
  ['npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'], checkCounts],
  ['cargo', ['test', '--workspace', '--exclude', 'ugn-binding', '--color', 'never'], cargoCounts],
  // The codec's fuzz targets for 60 s in all (installs cargo-fuzz if missing): one passed per
  // target that found nothing.
  ['node', ['scripts/fuzz.mjs', '60'], tapCounts],
  ['npx', ['ava', '--tap'], tapCounts],
  // The compatibility suite has its own dependencies (Express at the tests' version, mocha,
  // supertest), installed from its lockfile.
  ['npm', ['ci', '--prefix', EXPRESS, '--no-audit', '--no-fund', '--loglevel', 'error'], () => ({ passed: 0, failed: 0 })],
  ['node', [`${EXPRESS}/run.mjs`], tapCounts],
  // A few seconds of the benchmark (node:http, ugn, Hono on each): it prints its table and
  // counts one passed per server measured; noisy numbers never fail it, only a broken harness.
  ['node', ['bench/run.mjs', '--quick'], benchCounts],
]

let passed = 0
let failed = 0
let broken = false
for (const [command, args, parse] of suites) {
  const result = await run(command, args, parse)
  passed += result.passed
  failed += result.failed
  // A suite that exits non-zero without a failed test (a build error, a crash) still fails the run.
  if (result.code !== 0 && result.failed === 0) {
    broken = true
    failed += 1
    console.log(`${command} ${args.join(' ')} exited with status ${result.code}`)
  }
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 || broken ? 1 : 0)
