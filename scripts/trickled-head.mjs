#!/usr/bin/env node
// The engine's CPU time for one request head trickled in small pieces, measured on this tree
// and on an earlier commit side by side (docs/reliability.md):
//
//   node scripts/trickled-head.mjs [--before REV] [PIECE] [FIELDS]
//
// REV defaults to 0889757, the last commit whose engine parsed the whole head again after
// every read. Its tree is checked out in a temporary git worktree, given this tree's
// crates/ugn-server/examples/trickled_head.rs (which uses only the engine's public API), and
// built in target/trickled-head-before, so a second run rebuilds nothing.

import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
let before = '0889757'
const at = args.indexOf('--before')
if (at >= 0) {
  before = args[at + 1]
  args.splice(at, 2)
}
const EXAMPLE = 'crates/ugn-server/examples/trickled_head.rs'

function measure(dir, targetDir) {
  const out = execFileSync(
    'cargo',
    ['run', '--release', '--quiet', '-p', 'ugn-server', '--example', 'trickled_head', '--', ...args],
    { cwd: dir, env: { ...process.env, CARGO_TARGET_DIR: targetDir }, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  return out.toString().trim()
}

const scratch = mkdtempSync(join(tmpdir(), 'ugn-trickled-'))
const worktree = join(scratch, 'before')
execFileSync('git', ['worktree', 'add', '--detach', worktree, before], { cwd: root, stdio: 'ignore' })
try {
  mkdirSync(join(worktree, dirname(EXAMPLE)), { recursive: true })
  copyFileSync(join(root, EXAMPLE), join(worktree, EXAMPLE))
  const old = measure(worktree, join(root, 'target', 'trickled-head-before'))
  const now = measure(root, join(root, 'target'))
  console.log(`before (${before}): ${old}`)
  console.log(`after (this tree): ${now}`)
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: root, stdio: 'ignore' })
  rmSync(scratch, { recursive: true, force: true })
}
