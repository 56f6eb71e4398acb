// The server table. Each entry says how to start one server for a scenario and a mode.
//   name        used by --servers and in the results
//   baseline    the server the "ratio" column divides by (exactly one)
//   optIn       only run when named in --servers (not part of the default set)
//   group       a name --servers also accepts: every server of the group, plus the baseline
//   twin        the server this one is compared with in the "vs twin" table (same app, other server)
//   skip(ctx)   null, or the reason this server cannot run here (printed, not an error)
//   command(ctx) -> { label, cmd, args, env, cwd }
// ctx = { repo, bench, port, mode, workers, scenario }. The harness adds `taskset -c 0` in
// per-core mode; all processes the command starts must stay in its process tree.
import { existsSync } from 'node:fs'
import path from 'node:path'

/** The ugn CLI: dist/cli.js of this repo, or $UGN_CLI (e.g. another checkout's build). */
const ugnCli = (repo) => process.env.UGN_CLI || path.join(repo, 'dist/cli.js')

function ugnMissing(repo) {
  if (existsSync(ugnCli(repo))) return null
  return process.env.UGN_CLI ? `UGN_CLI=${process.env.UGN_CLI} does not exist` : 'dist/cli.js not built; run npm run build'
}

/** ugn serving app (MODULE:ATTR, relative to the repo root) with the mode's worker count. */
function ugnServing(app, { repo, port, workers }) {
  return {
    label: `ugn --workers ${workers}`,
    cmd: process.execPath,
    args: [ugnCli(repo), app, '--workers', String(workers), '--bind', `127.0.0.1:${port}`],
    cwd: repo,
    env: {},
  }
}

function nodeHttp({ bench, port, mode, workers, scenario }) {
  const env = { HOST: '127.0.0.1', PORT: String(port), SCENARIO: scenario.name }
  if (mode === 'full') {
    return {
      label: `node:cluster x${workers}`,
      cmd: process.execPath,
      args: [path.join(bench, 'servers/node-cluster.mjs')],
      env: { ...env, WORKERS: String(workers) },
    }
  }
  return { label: 'node:http, 1 process', cmd: process.execPath, args: [path.join(bench, 'servers/node-http.mjs')], env }
}

// Framework peers (--servers frameworks): one app module per framework, bench/apps/NAME.mjs,
// served as is by the framework's usual Node server (NAME-node, node:cluster in full mode) and
// by ugn through its adapter (NAME-ugn, compared with NAME-node in the "vs twin" table).
const FRAMEWORKS = [
  { name: 'express', packages: ['express'], server: 'Express 5 on node:http' },
  { name: 'fastify', packages: ['fastify'], server: 'fastify.listen' },
  { name: 'hono', packages: ['hono', '@hono/node-server'], server: '@hono/node-server serve()' },
]
// The apps answer GET / only: the hello world of scenario 1.
const FRAMEWORK_SCENARIOS = ['plaintext']

function frameworkMissing(fw, { scenario }, packages) {
  if (!FRAMEWORK_SCENARIOS.includes(scenario.name)) return `the ${fw.name} app serves only ${FRAMEWORK_SCENARIOS.join(', ')}`
  for (const pkg of packages) {
    try {
      import.meta.resolve(pkg)
    } catch {
      return `${pkg} not installed; run npm install at the repo root`
    }
  }
  return null
}

function frameworkNode(fw, { bench, port, mode, workers }) {
  const env = { FRAMEWORK: fw.name, HOST: '127.0.0.1', PORT: String(port) }
  const full = mode === 'full'
  return {
    label: `${fw.server}, ${full ? `node:cluster x${workers}` : '1 process'}`,
    cmd: process.execPath,
    args: [path.join(bench, 'servers/frameworks.mjs')],
    env: full ? { ...env, WORKERS: String(workers) } : env,
  }
}

const FRAMEWORK_PEERS = FRAMEWORKS.flatMap((fw) => [
  {
    name: `${fw.name}-node`,
    optIn: true,
    group: 'frameworks',
    skip: (ctx) => frameworkMissing(fw, ctx, fw.packages),
    command: (ctx) => frameworkNode(fw, ctx),
  },
  {
    name: `${fw.name}-ugn`,
    optIn: true,
    group: 'frameworks',
    twin: `${fw.name}-node`,
    // Only the app's own package: the ugn side does not need the framework's Node server.
    skip: (ctx) => ugnMissing(ctx.repo) ?? frameworkMissing(fw, ctx, fw.packages.slice(0, 1)),
    command: (ctx) => ugnServing(`bench/apps/${fw.name}:app`, ctx),
  },
])

export const SERVERS = [
  { name: 'node-http', baseline: true, skip: () => null, command: nodeHttp },
  // A/A control: a second, identical node-http. Its ratio to node-http shows the harness's noise
  // floor and any order bias (run with --servers node-http,node-http-aa).
  { name: 'node-http-aa', optIn: true, skip: () => null, command: nodeHttp },
  {
    name: 'ugn-native',
    skip: ({ repo, scenario }) => ugnMissing(repo) ?? (scenario.ugnApp ? null : `no ugn app for scenario ${scenario.name}`),
    command: ugnNative,
  },
  // The access log's cost: ugn-native with Gunicorn's default access log format written to
  // $UGN_ACCESS_LOG (default /dev/null, so only formatting and writing count, not a disk).
  ugnNativeWith('ugn-native-accesslog', '--access-logfile', () => process.env.UGN_ACCESS_LOG || '/dev/null'),
  // The cost of statsd: ugn-native sending its metrics to $UGN_STATSD (default 127.0.0.1:8125;
  // run a UDP sink there, or the kernel's refusals are measured too).
  ugnNativeWith('ugn-native-statsd', '--statsd-host', () => process.env.UGN_STATSD || '127.0.0.1:8125'),
  ...FRAMEWORK_PEERS,
]

/** An opt-in ugn-native with one more setting, to measure what that setting costs. `value` is
 * read when the server starts, so an environment variable can choose it. */
function ugnNativeWith(name, flag, value) {
  return {
    name,
    optIn: true,
    skip: (ctx) => SERVERS.find((s) => s.name === 'ugn-native').skip(ctx),
    command: (ctx) => {
      const plain = ugnNative(ctx)
      return { ...plain, label: `${plain.label} ${flag} ${value()}`, args: [...plain.args, flag, value()] }
    },
  }
}

function ugnNative(ctx) {
  return ugnServing(ctx.scenario.ugnApp, ctx)
}

