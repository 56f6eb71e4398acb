#!/usr/bin/env node
// HTTPS per core: ugn --certfile (1 worker) against node:https (1 process), both serving the
// plaintext hello world with the same certificate (an EC P-256 key made here by openssl),
// pinned to core 0, with wrk on core 1. Two loads: keep-alive (100 connections, the cost of
// encryption) and Connection: close (a full handshake per request). The servers alternate
// for --rounds rounds; each round gives a ratio, and the medians are printed.
//
//   node bench/tls.mjs [--rounds 3] [--seconds 5]   (after npm run build; needs wrk and openssl)

import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' } } })
const dir = mkdtempSync(path.join(os.tmpdir(), 'ugn-bench-tls-'))
const cert = path.join(dir, 'cert.pem')
const key = path.join(dir, 'key.pem')
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })

const NODE_HTTPS = `
import https from 'node:https'
import { readFileSync } from 'node:fs'
const server = https.createServer({ cert: readFileSync(process.env.CERT), key: readFileSync(process.env.KEY) }, (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '13' })
  res.end('Hello, World!')
})
server.listen({ host: '127.0.0.1', port: Number(process.env.PORT), backlog: 4096 })
process.on('SIGTERM', () => process.exit(0))
`

const SERVERS = {
  'node-https': (port) => [process.execPath, ['--input-type=module', '-e', NODE_HTTPS], { CERT: cert, KEY: key, PORT: String(port) }],
  'ugn-tls': (port) => [
    process.execPath,
    [path.join(ROOT, 'dist/cli.js'), 'examples/hello:app', '--workers', '1', '--bind', `127.0.0.1:${port}`, '--certfile', cert, '--keyfile', key],
    {},
  ],
}

const LOADS = {
  'keep-alive': ['-t1', '-c100'],
  'connection-close': ['-t1', '-c20', '-H', 'Connection: close'],
}

function ready(port) {
  return new Promise((resolve) => {
    https
      .get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, agent: false }, (res) => res.resume().on('end', () => resolve(res.statusCode === 200)))
      .on('error', () => resolve(false))
  })
}

function wrk(port, args, seconds) {
  const out = spawnSync('taskset', ['-c', '1', 'wrk', ...args, `-d${seconds}s`, `https://127.0.0.1:${port}/`], { encoding: 'utf8' }).stdout
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), errors: /Socket errors: (.*)/.exec(out)?.[1] ?? 'none' }
}

async function measure(name, port) {
  const [cmd, args, env] = SERVERS[name](port)
  const child = spawn('taskset', ['-c', '0', cmd, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' })
  try {
    for (let i = 0; !(await ready(port)); i++) {
      if (i === 100) throw new Error(`${name} did not answer on port ${port}`)
      await sleep(100)
    }
    wrk(port, LOADS['keep-alive'], 2)
    const out = {}
    for (const [load, args] of Object.entries(LOADS)) out[load] = wrk(port, args, Number(values.seconds))
    return out
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.on('exit', resolve))
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ratios = Object.fromEntries(Object.keys(LOADS).map((l) => [l, []]))
const rates = Object.fromEntries(Object.keys(SERVERS).flatMap((s) => Object.keys(LOADS).map((l) => [`${s} ${l}`, []])))
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    const result = {}
    for (const [i, name] of Object.keys(SERVERS).entries()) result[name] = await measure(name, 8170 + i)
    for (const load of Object.keys(LOADS)) {
      ratios[load].push(result['ugn-tls'][load].rps / result['node-https'][load].rps)
      for (const name of Object.keys(SERVERS)) rates[`${name} ${load}`].push(result[name][load].rps)
    }
    console.log(JSON.stringify({ round, ...result }))
  }
  console.log('| load | node:https req/s | ugn --certfile req/s | ratio (median of rounds) |')
  console.log('|---|--:|--:|--:|')
  for (const load of Object.keys(LOADS)) {
    const n = Math.round(median(rates[`node-https ${load}`]))
    const u = Math.round(median(rates[`ugn-tls ${load}`]))
    console.log(`| ${load} | ${n} | ${u} | ${median(ratios[load]).toFixed(2)}x |`)
  }
  console.log(`certificate: ${readFileSync(cert, 'utf8').length} bytes of PEM, EC P-256; ${values.rounds} rounds of ${values.seconds} s per load`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
