#!/usr/bin/env node
// Prints a results file of bench/run.mjs as compact Markdown, for docs/benchmarks.md: the
// header (command, machine), the load generators' ceilings, and per mode one table of req/s and
// ratio to node-http per scenario, then one row per server and scenario with the latencies,
// errors, CPU per request and peak RSS.
//
// With --versus SERVER (default ugn-native), one more table per mode: that server's req/s over
// each other server's, per scenario (above 1x, SERVER served more).
//
//   node bench/report.mjs bench/results/FILE.json [--tool wrk] [--versus ugn-native]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ceilingLines, ratioMatrix, skipReasons } from './lib/matrix.mjs'

const { values, positionals } = parseArgs({
  options: { tool: { type: 'string', default: 'wrk' }, versus: { type: 'string', default: 'ugn-native' } },
  allowPositionals: true,
})
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/report.mjs RESULTS.json [--tool wrk|autocannon] [--versus SERVER]\n')
  process.exit(2)
}
const res = JSON.parse(readFileSync(positionals[0], 'utf8'))
const tool = values.tool
const out = (s = '') => process.stdout.write(`${s}\n`)
const n = (x, d = 0) => (x == null ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }))
const ms = (x) => (x == null ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(1))

// The header block the harness printed (between the first two fences).
const header = res.report.split('```')[1]
out('```')
out(header.trim())
out('```')

if (res.ceilings) {
  out()
  out('Load generators\' ceilings (each on core 1, 100 connections, against `servers/canned.mjs` on core 0):')
  out()
  for (const l of ceilingLines(res.ceilings)) out(l)
}

// Older files have no modes[]: one mode, res.options.mode.
const modes = res.modes?.length
  ? res.modes.map((m) => ({ ...m, scenarios: res.scenarios.filter((sc) => sc.mode === m.mode) }))
  : [{ mode: res.options.mode, scenarios: res.scenarios }]
for (const m of modes) {
  const scen = m.scenarios
  out()
  out(`### ${m.mode === 'full' ? `Full machine: ${m.workers ?? 2} workers, unpinned` : `Per core: ${m.workers ?? 1} worker on core 0, load on core 1`} (${tool}; req/s, median, and ratio to node-http)`)
  out()
  for (const l of ratioMatrix(scen, tool)) out(l)
  const rowOf = (sc, name) => sc.summary.find((x) => x.server === name && x.tool === tool)
  if (scen.some((sc) => rowOf(sc, values.versus))) {
    const others = [...new Set(scen.flatMap((sc) => sc.summary.filter((x) => x.tool === tool).map((x) => x.server)))].filter((x) => x !== values.versus)
    out()
    out(`${values.versus}'s req/s over each server's (same scenario, same run):`)
    out()
    out(`| ${values.versus} over | ${scen.map((sc) => sc.scenario).join(' | ')} |`)
    out(`|---|${scen.map(() => '--:').join('|')}|`)
    for (const o of others) {
      out(`| ${o} | ${scen.map((sc) => {
        const a = rowOf(sc, values.versus)
        const b = rowOf(sc, o)
        return a && b?.rps ? `${(a.rps / b.rps).toFixed(2)}x` : '-'
      }).join(' | ')} |`)
    }
  }
  out()
  out('<details><summary>Latency, errors, CPU and memory per server and scenario</summary>')
  out()
  out('| scenario | server | req/s | spread | p50 ms | p99 ms | max ms | non-2xx | socket errors | µs CPU/req | peak RSS MiB | other / steal (max) |')
  out('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|')
  for (const s of scen) {
    for (const r of s.summary.filter((x) => x.tool === tool)) {
      out(`| ${s.scenario} | ${r.server} | ${n(r.rps)} | ±${n(r.spreadPct / 2, 1)}% | ${ms(r.p50_ms)} | ${ms(r.p99_ms)} | ${ms(r.max_ms)} | ${n(r.non2xx)} | ${n(r.socketErrors)} | ${n(r.usCpuPerRequest, 2)} | ${n(r.peakRssMiB, 1)} | ${n(r.otherCpuPercentMax)}% / ${n(r.stealPercentMax)}% |`)
    }
  }
  out()
  out('</details>')
  const labels = new Map()
  for (const s of scen) for (const sv of s.servers) labels.set(sv.name, s.summary.find((r) => r.server === sv.name)?.label ?? sv.label)
  out()
  out(`Servers: ${[...labels].map(([k, v]) => `${k} = ${v}`).join('; ')}.`)
  const skips = skipReasons(scen)
  if (skips.length) out(`Skipped: ${skips.join('; ')}.`)
}
