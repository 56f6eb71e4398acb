// The server table. Each entry says how to start one server for a scenario and a mode.
//   name        used by --servers and in the results
//   baseline    the server the "ratio" column divides by (exactly one)
//   skip(ctx)   null, or the reason this server cannot run here (printed, not an error)
//   command(ctx) -> { label, cmd, args, env, cwd }
// ctx = { repo, bench, port, mode, workers, scenario }. The harness adds `taskset -c 0` in
// per-core mode; all processes the command starts must stay in its process tree.
import { existsSync } from 'node:fs'
import path from 'node:path'

export const SERVERS = [
  {
    name: 'node-http',
    baseline: true,
    skip: () => null,
    command: ({ bench, port, mode, workers, scenario }) => {
      const env = { HOST: '127.0.0.1', PORT: String(port), SCENARIO: scenario.name }
      if (mode === 'full') {
        return {
          label: `node:cluster x${workers}`,
          cmd: process.execPath,
          args: [path.join(bench, 'servers/node-cluster.mjs')],
          env: { ...env, WORKERS: String(workers) },
        }
      }
      return {
        label: 'node:http, 1 process',
        cmd: process.execPath,
        args: [path.join(bench, 'servers/node-http.mjs')],
        env,
      }
    },
  },
  {
    name: 'ugn-native',
    skip: ({ repo, scenario }) => {
      if (!existsSync(path.join(repo, 'dist/cli.js'))) return 'dist/cli.js not built; run npm run build'
      if (!scenario.ugnApp) return `no ugn app for scenario ${scenario.name}`
      return null
    },
    command: ({ repo, port, workers, scenario }) => ({
      label: `ugn --workers ${workers}`,
      cmd: process.execPath,
      args: [path.join(repo, 'dist/cli.js'), scenario.ugnApp, '--workers', String(workers), '--bind', `127.0.0.1:${port}`],
      cwd: repo,
      env: {},
    }),
  },
]
