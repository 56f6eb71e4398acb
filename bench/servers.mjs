// The server table. Each entry says how to start one server for a scenario and a mode.
//   name        used by --servers and in the results
//   baseline    the server the "ratio" column divides by (exactly one)
//   optIn       only run when named in --servers (not part of the default set)
//   skip(ctx)   null, or the reason this server cannot run here (printed, not an error)
//   command(ctx) -> { label, cmd, args, env, cwd }
// ctx = { repo, bench, port, mode, workers, scenario }. The harness adds `taskset -c 0` in
// per-core mode; all processes the command starts must stay in its process tree.
import { existsSync } from 'node:fs'
import path from 'node:path'

/** The ugn CLI: dist/cli.js of this repo, or $UGN_CLI (e.g. another checkout's build). */
const ugnCli = (repo) => process.env.UGN_CLI || path.join(repo, 'dist/cli.js')

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

export const SERVERS = [
  { name: 'node-http', baseline: true, skip: () => null, command: nodeHttp },
  // A/A control: a second, identical node-http. Its ratio to node-http shows the harness's noise
  // floor and any order bias (run with --servers node-http,node-http-aa).
  { name: 'node-http-aa', optIn: true, skip: () => null, command: nodeHttp },
  {
    name: 'ugn-native',
    skip: ({ repo, scenario }) => {
      if (!existsSync(ugnCli(repo))) return process.env.UGN_CLI ? `UGN_CLI=${process.env.UGN_CLI} does not exist` : 'dist/cli.js not built; run npm run build'
      if (!scenario.ugnApp) return `no ugn app for scenario ${scenario.name}`
      return null
    },
    command: ({ repo, port, workers, scenario }) => ({
      label: `ugn --workers ${workers}`,
      cmd: process.execPath,
      args: [ugnCli(repo), scenario.ugnApp, '--workers', String(workers), '--bind', `127.0.0.1:${port}`],
      cwd: repo,
      env: {},
    }),
  },
  // The access log's cost: ugn-native with Gunicorn's default access log format written to
  // $UGN_ACCESS_LOG (default /dev/null, so only formatting and writing count, not a disk).
  {
    name: 'ugn-native-accesslog',
    optIn: true,
    skip: (ctx) => SERVERS.find((s) => s.name === 'ugn-native').skip(ctx),
    command: (ctx) => {
      const file = process.env.UGN_ACCESS_LOG || '/dev/null'
      const plain = SERVERS.find((s) => s.name === 'ugn-native').command(ctx)
      return { ...plain, label: `${plain.label} --access-logfile ${file}`, args: [...plain.args, '--access-logfile', file] }
    },
  },
]
