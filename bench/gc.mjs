#!/usr/bin/env node
// Garbage collection in one worker under load, for a native app that answers at once or after
// one `await` (bench/apps/gc.mjs): ugn --workers 1 pinned to core 0, wrk -t1 -c100 on core 1,
// a 3 s warm-up, then 10 s windows. Prints each window and the medians.
//
//   node bench/gc.mjs [sync|async] [--windows N] [--port P]   (after npm run build)

import { spawn, spawnSync } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { windows: { type: 'string', default: '3' }, port: { type: 'string', default: '8150' } },
})
const mode = positionals[0] ?? 'async'
const url = `http://127.0.0.1:${values.port}`

function wrk(seconds) {
  const out = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', '-c100', `-d${seconds}s`, `${url}/`], { encoding: 'utf8' }).stdout
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
}

// A connection of its own each time: the engine closes idle keep-alive connections between windows.
const gcCounts = () =>
  new Promise((resolve, reject) => {
    http
      .get(`${url}/gc`, { agent: false }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (chunk) => (text += chunk))
        res.on('end', () => resolve(JSON.parse(text)))
      })
      .on('error', reject)
  })

const server = spawn(
  'taskset',
  ['-c', '0', process.execPath, path.join(ROOT, 'dist/cli.js'), `bench/apps/gc:${mode}`, '--workers', '1', '--bind', `127.0.0.1:${values.port}`],
  { cwd: ROOT, stdio: 'ignore' },
)
try {
  for (let i = 0; ; i++) {
    await sleep(200)
    try {
      await gcCounts()
      break
    } catch (err) {
      if (i === 50) throw err
    }
  }
  wrk(3)
  const rows = []
  for (let i = 0; i < Number(values.windows); i++) {
    await gcCounts()
    const rps = wrk(10)
    const gc = await gcCounts()
    const row = { rps: Math.round(rps), minorMs: Math.round(gc.minorMs), minor: gc.minor, perMinorMs: +(gc.minorMs / gc.minor).toFixed(2), majorMs: Math.round(gc.majorMs), major: gc.major }
    console.log(JSON.stringify(row))
    rows.push(row)
  }
  const median = (key) => rows.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(rows.length / 2)]
  console.log(`${mode}: median req/s ${median('rps')}, minor GC ${median('minorMs')} ms per 10 s (${median('perMinorMs')} ms each), major GCs ${median('major')}`)
} finally {
  server.kill()
}
