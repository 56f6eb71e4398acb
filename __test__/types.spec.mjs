// The types users get from dist/index.d.ts: a config file written against UserConfig and
// defineConfig compiles with `tsc --noEmit`, a wrong setting type, an unknown setting or a hook
// with the wrong arguments does not; UserConfig names exactly the settings a config file may
// set and the hooks; what ugn passes to hooks fits the interfaces hooks are typed with; and a
// `ugn.config.mjs` whose default export is `defineConfig({...})` is what ugn runs with.
//
// Each case is a small project in a temporary directory whose node_modules/ugn links to this
// repository, so `import ... from 'ugn'` resolves through package.json's exports as a user's would.

import test from 'ava'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { ROOT, runUgn } from './helpers/ugn.mjs'

const run = promisify(execFile)
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ugn-types-'))
test.after.always(() => rmSync(tmp, { recursive: true, force: true }))
mkdirSync(path.join(tmp, 'node_modules'))
symlinkSync(ROOT, path.join(tmp, 'node_modules', 'ugn'), 'dir')
// dist's declarations name Node's own types (Buffer, EventEmitter).
symlinkSync(path.join(ROOT, 'node_modules', '@types'), path.join(tmp, 'node_modules', '@types'), 'dir')

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    allowJs: true,
    checkJs: true,
    types: ['node'],
    // As most projects have it (tsc --init sets it): the cases check the user's file; the test
    // after them checks ugn's own declarations.
    skipLibCheck: true,
  },
}

/** Compiles `files` (name -> source) as a project of their own; resolves to tsc's exit code and output. */
async function compile(name, files, options = {}) {
  const dir = path.join(tmp, name)
  mkdirSync(dir)
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }))
  const compilerOptions = { ...TSCONFIG.compilerOptions, ...options }
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: Object.keys(files) }))
  for (const [file, source] of Object.entries(files)) writeFileSync(path.join(dir, file), source)
  try {
    const { stdout } = await run(process.execPath, [TSC, '-p', dir], { cwd: dir, timeout: 60_000 })
    return { code: 0, output: stdout }
  } catch (err) {
    if (typeof err.code !== 'number') throw err
    return { code: err.code, output: `${err.stdout}${err.stderr}` }
  }
}

/** The dist module `file` as a relative import specifier from a case's directory. */
const internal = (file) => path.relative(path.join(tmp, 'x'), path.join(ROOT, 'dist', file)).split(path.sep).join('/')

const GOOD_TS = `
import { defineConfig, type UserConfig, type Environ, type App, type StartResponse } from 'ugn'

export const app: App = (environ: Environ, startResponse: StartResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return [environ.PATH_INFO]
}

const requests: string[] = []

export default defineConfig({
  bind: ['0.0.0.0:8000', 'unix:/run/app.sock'],
  workers: 4,
  worker_class: 'async',
  interface: 'native',
  timeout: 30,
  keepalive: 5,
  umask: 0o22,
  user: 'www-data',
  raw_env: 'NODE_ENV=production',
  secure_scheme_headers: { 'X-FORWARDED-PROTO': 'https' },
  proxy_protocol: true,
  cert_reqs: 'required',
  accesslog: '-',
  loglevel: 'warning',
  on_starting(arbiter) {
    requests.push(arbiter.app, String(arbiter.cfg.workers), String(arbiter.pid))
  },
  pre_fork: (arbiter, worker) => void requests.push(String(worker.age + arbiter.workerInfo.length)),
  post_fork(arbiter, worker) {
    const none: null = arbiter
    requests.push(String(none), worker.app, worker.cfg.bind.join(','))
  },
  async post_worker_init(worker) {
    await Promise.resolve(worker.pid)
  },
  pre_request(worker, environ) {
    requests.push(String(worker.pid), environ.REQUEST_METHOD, environ.PATH_INFO)
  },
  post_request(_worker, environ, status) {
    requests.push(environ.REQUEST_METHOD, status ?? 'no response')
  },
  nworkers_changed(_arbiter, newValue, oldValue) {
    requests.push(String(newValue - oldValue))
  },
  child_exit: (_arbiter, worker) => void requests.push(String(worker.pid)),
})

export const named: UserConfig = { workers: 2, reload: true, reload_extra_files: ['templates/index.html'] }
`

const GOOD_MJS = `
/** @type {import('ugn').UserConfig} */
export default {
  workers: 2,
  bind: '127.0.0.1:9000',
  post_worker_init(worker) {
    console.log('worker', worker.pid, 'ready')
  },
}
`

// UserConfig's keys are the settings minus the command-line-only ones, plus every hook; the
// master, a worker and the worker records ugn passes fit the interfaces the hooks declare.
const AGREEMENT_TS = `
import type { ArbiterInfo, Config, UserConfig, WorkerInfo, WorkerProcess } from 'ugn'
import type { HookName } from '${internal('hooks.js')}'
import type { Arbiter, WorkerInfo as ArbiterWorkerInfo } from '${internal('arbiter.js')}'
import type { WorkerSelf } from '${internal('worker.js')}'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
type Assignable<A, B> = [A] extends [B] ? true : false

export const keys: Equal<keyof UserConfig, Exclude<keyof Config, 'config' | 'check_config' | 'print_config'> | HookName> = true
export const arbiter: Assignable<Arbiter, ArbiterInfo> = true
export const worker: Assignable<WorkerSelf, WorkerProcess> = true
export const workerInfo: Equal<ArbiterWorkerInfo, WorkerInfo> = true
// Every choice a setting resolves to can be written in a config file.
export const choices: Assignable<Pick<Config, 'worker_class' | 'interface' | 'loglevel' | 'proxy_protocol'>, UserConfig> = true
`

test('a config file typed with UserConfig and defineConfig compiles, in TypeScript and in JSDoc', async (t) => {
  const result = await compile('good', { 'ugn.config.ts': GOOD_TS, 'ugn.config.mjs': GOOD_MJS })
  t.is(result.code, 0, result.output)
})

test("the declarations ugn ships type-check on their own, for projects that check libraries' too", async (t) => {
  const result = await compile('declarations', { 'uses.ts': "import type { UserConfig } from 'ugn'\nexport const c: UserConfig = {}\n" }, { skipLibCheck: false })
  t.is(result.code, 0, result.output)
})

test('UserConfig names every setting and hook, and the hooks get what ugn passes them', async (t) => {
  const result = await compile('agreement', { 'agreement.ts': AGREEMENT_TS })
  t.is(result.code, 0, result.output)
})

// Each with the text tsc's error must point at: the offending property.
const BAD = {
  'a setting of the wrong type': ["export default defineConfig({ workers: '4' })", 'workers'],
  'a choice that does not exist': ["export default defineConfig({ worker_class: 'gevent' })", 'worker_class'],
  'an unknown setting': ['export default defineConfig({ worker: 4 })', 'worker'],
  'a hook with the wrong arguments': ['export default defineConfig({ pre_request(worker: string) { console.log(worker) } })', 'pre_request'],
  'a hook that is not a function': ['export const config: UserConfig = { on_starting: true }', 'on_starting'],
  'a command-line-only setting': ['export const config: UserConfig = { print_config: true }', 'print_config'],
}

for (const [what, [source, at]] of Object.entries(BAD)) {
  test(`a config file with ${what} does not compile`, async (t) => {
    const name = what.replace(/\W+/g, '-')
    const result = await compile(name, {
      'ugn.config.ts': `import { defineConfig, type UserConfig } from 'ugn'\n${source}\nexport const unused: UserConfig | undefined = undefined\n`,
    })
    t.not(result.code, 0, `tsc accepted: ${source}`)
    const errors = result.output.split('\n').filter((line) => /^ugn\.config\.ts\(.*error TS\d+/.test(line))
    t.deepEqual(
      errors.map((line) => /^ugn\.config\.ts\((\d+,\d+)\)/.exec(line)?.[1]),
      [`2,${source.indexOf(at) + 1}`],
      result.output,
    )
    t.log(errors[0])
  })
}

test("ugn runs with a config file whose default export is defineConfig's", async (t) => {
  const dir = path.join(tmp, 'runs')
  mkdirSync(dir)
  const file = path.join(dir, 'ugn.config.mjs')
  writeFileSync(
    file,
    "import { defineConfig } from 'ugn'\nexport default defineConfig({ workers: 3, bind: ['127.0.0.1:8123'], keepalive: 7, on_starting() {} })\n",
  )
  const result = await runUgn(['-c', file, '--print-config'])
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /^workers\s+= 3$/m)
  t.regex(result.stdout, /^bind\s+= \["127\.0\.0\.1:8123"\]$/m)
  t.regex(result.stdout, /^keepalive\s+= 7$/m)
})
