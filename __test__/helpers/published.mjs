// ugn's package.json as the publish job makes it. The repository's declares no
// optionalDependencies: npm cannot lock a version of a platform package before that version is
// published, so they would leave package-lock.json out of step with package.json. The publish job
// has `napi pre-publish` write them, one per napi target at ugn's version; this runs the same
// command on a copy.

import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from './ugn.mjs'

const run = promisify(execFile)

/** napi's arguments, in the publish job as here: write the optionalDependencies, publish nothing
 * (the job publishes each package itself, skipping any already on the registry), make no GitHub
 * release. */
export const PRE_PUBLISH = ['pre-publish', '--skip-optional-publish', '--no-gh-release']

/** Runs `napi pre-publish` on a copy of package.json and npm/ in `dir` (which it creates) and
 * returns the package.json it wrote. */
export async function publishedManifest(dir) {
  mkdirSync(dir, { recursive: true })
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'))
  cpSync(path.join(ROOT, 'npm'), path.join(dir, 'npm'), { recursive: true })
  // napi checks that every platform package holds its binary, as `napi artifacts` leaves it in
  // the publish job; an empty file stands in for the ones not built here.
  const { binaryName } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).napi
  for (const platform of readdirSync(path.join(dir, 'npm'))) {
    writeFileSync(path.join(dir, 'npm', platform, `${binaryName}.${platform}.node`), '')
  }
  await run(path.join(ROOT, 'node_modules', '.bin', 'napi'), PRE_PUBLISH, {
    cwd: dir,
    timeout: 60_000,
  })
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
}
