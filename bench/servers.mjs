// The server table. Each entry says how to start one server for a scenario and a mode.
//   name        used by --servers and in the results
//   baseline    the server the "ratio" column divides by (exactly one)
//   optIn       only run when named in --servers (not part of the default set)
//   group       a name (or list of names) --servers also accepts: every server of the group, plus
//               the baseline
//   twin        the server this one is compared with in the "vs twin" table (same app, other server)
//   skip(ctx)   null, or the reason this server cannot run here (printed, not an error)
//   command(ctx) -> { label, cmd, args, env, cwd }
// ctx = { repo, bench, port, mode, workers, scenario }. The harness adds `taskset -c 0` in
// per-core mode; all processes the command starts must stay in its process tree.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { uwsSetup } from './lib/uws-compat.mjs'

const BENCH = path.dirname(fileURLToPath(import.meta.url))
/** The Python of the venv bench/run.mjs creates for the Python peers (bench/requirements.txt). */
export const VENV = path.join(BENCH, '.venv')

/** The ugn CLI: dist/cli.js of this repo, or $UGN_CLI (e.g. another checkout's build). */
const ugnCli = (repo) => process.env.UGN_CLI || path.join(repo, 'dist/cli.js')

function ugnMissing(repo) {
  if (existsSync(ugnCli(repo))) return null
  return process.env.UGN_CLI ? `UGN_CLI=${process.env.UGN_CLI} does not exist` : 'dist/cli.js not built; run npm run build'
}

/** ugn serving app (MODULE:ATTR, relative to the repo root) with the mode's worker count.
 * Scenarios with more connections than ugn's default --worker-connections (1000) raise it. */
function ugnServing(app, { repo, port, workers, scenario }, extra = []) {
  const total = scenario.connections + (scenario.idle ?? 0)
  const more = total >= 900 ? ['--worker-connections', '4096'] : []
  return {
    label: `ugn --workers ${workers}${extra.length ? ` ${extra.join(' ')}` : ''}`,
    cmd: process.execPath,
    args: [ugnCli(repo), app, '--workers', String(workers), '--bind', `127.0.0.1:${port}`, ...more, ...extra],
    cwd: repo,
    env: {},
  }
}

function nodeHttp({ bench, port, mode, workers, scenario }) {
  const env = { HOST: '127.0.0.1', PORT: String(port), SCENARIO: scenario.app }
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
// The apps route by path (GET /, GET /json, GET /64k, POST /upload), so they serve every
// scenario; pipelining is measured on ugn's native interface only, as for ugn-fetch and ugn-node.
function frameworkMissing(fw, { scenario }, packages) {
  if (scenario.pipelining > 1) return `pipelining is measured on ugn's native interface only`
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


// ---------------------------------------------------------------------------------------------
// Peers (--servers peers, and --suite full): ugn through each interface, uWebSockets.js, Bun,
// and two Python servers, each serving the scenario's hello world (scenario.app).

const pipelineNativeOnly = (ctx, iface) =>
  (ctx.scenario.pipelining > 1 ? `pipelining is measured on ugn's native interface only; the ${iface} adapter serves the same engine` : null)

let uwsState = null
const uws = () => (uwsState ??= uwsSetup(BENCH))

const BUN = path.join(BENCH, 'node_modules/bun/bin/bun.exe')
let bunState
function bunMissing() {
  if (bunState !== undefined) return bunState
  if (!existsSync(BUN)) return (bunState = 'bun not installed (npm install --prefix bench)')
  try {
    execFileSync(BUN, ['--version'], { stdio: 'pipe' })
    bunState = null
  } catch (err) {
    bunState = `bun does not run: ${String(err.stderr || err.message).split('\n')[0]}`
  }
  return bunState
}

function pythonMissing(tool) {
  if (existsSync(path.join(VENV, 'bin', tool))) return null
  return `${tool} not in bench/.venv (the harness creates it: python3 -m venv, pip install -r bench/requirements.txt)`
}

function pythonPeer(name, label, args) {
  return {
    name,
    optIn: true,
    group: 'peers',
    python: true,
    skip: () => pythonMissing(name),
    command: (ctx) => ({ label: label(ctx.workers), cmd: path.join(VENV, 'bin', name), args: args(ctx), env: {} }),
  }
}

/** The env of the peers started through servers/copies.mjs (uws, bun). CONNECTION_CLOSE: the
 * scenario's requests carry `Connection: close`; these two servers close the connection then
 * but do not say so in the response unless the app adds the header, and wrk, not told, writes
 * its next request into the closing socket and counts errors. */
const copiesEnv = ({ port, workers, scenario }) => ({
  HOST: '127.0.0.1', PORT: String(port), SCENARIO: scenario.app, WORKERS: String(workers),
  CONNECTION_CLOSE: /^close$/i.test(scenario.headers?.Connection ?? '') ? '1' : '',
})

const PEERS = [
  {
    name: 'ugn-fetch',
    optIn: true,
    group: 'peers',
    skip: (ctx) => ugnMissing(ctx.repo) ?? pipelineNativeOnly(ctx, 'fetch'),
    command: (ctx) => ugnServing(`bench/apps/fetch:${ctx.scenario.app}`, ctx, ['--interface', 'fetch']),
  },
  {
    name: 'ugn-node',
    optIn: true,
    group: 'peers',
    skip: (ctx) => ugnMissing(ctx.repo) ?? pipelineNativeOnly(ctx, 'node'),
    command: (ctx) => ugnServing(`bench/apps/node:${ctx.scenario.app}`, ctx, ['--interface', 'node']),
  },
  {
    name: 'uws',
    optIn: true,
    group: 'peers',
    skip: () => uws().skip ?? null,
    command: (ctx) => ({
      label: `uWebSockets.js ${uws().compat ? '(glibc compat) ' : ''}${ctx.workers > 1 ? `x${ctx.workers} processes` : '1 process'}`,
      cmd: process.execPath,
      args: [path.join(ctx.bench, 'servers/uws.mjs')],
      env: { ...copiesEnv(ctx), ...uws().env },
    }),
  },
  {
    name: 'bun',
    optIn: true,
    group: 'peers',
    skip: () => bunMissing(),
    command: (ctx) => ({
      label: `Bun.serve ${ctx.workers > 1 ? `x${ctx.workers} processes (reusePort)` : '1 process'}`,
      cmd: BUN,
      args: [path.join(ctx.bench, 'servers/bun.mjs')],
      env: copiesEnv(ctx),
    }),
  },
  // The same WSGI app module (apps/hello_wsgi.py) on both Python servers, from bench/.venv.
  pythonPeer('gunicorn', (workers) => `Gunicorn gthread --workers ${workers} --threads 4`, ({ bench, port, workers, scenario }) => [
    '--chdir', path.join(bench, 'apps'), '--worker-class', 'gthread', '--threads', '4', '--workers', String(workers),
    '--worker-connections', '4096', '--backlog', '4096', '--bind', `127.0.0.1:${port}`, `hello_wsgi:${scenario.app}`,
  ]),
  pythonPeer('granian', (workers) => `Granian wsgi --workers ${workers}`, ({ bench, port, workers, scenario }) => [
    '--interface', 'wsgi', '--host', '127.0.0.1', '--port', String(port), '--workers', String(workers),
    '--backlog', '4096', '--no-ws', '--working-dir', path.join(bench, 'apps'), `hello_wsgi:${scenario.app}`,
  ]),
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

export const SERVERS = [
  { name: 'node-http', baseline: true, skip: () => null, command: nodeHttp },
  // A/A control: a second, identical node-http. Its ratio to node-http shows the harness's noise
  // floor and any order bias (run with --servers node-http,node-http-aa).
  { name: 'node-http-aa', optIn: true, skip: () => null, command: nodeHttp },
  {
    name: 'ugn-native',
    group: ['peers'],
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
  ...PEERS,
]
