// The summary table shared by run.mjs (printed after each mode) and report.mjs: one row per
// server, one column per scenario, each cell the median req/s with one tool and its ratio to
// node-http from the same invocation; `skip` where the server does not run the scenario.

/** Markdown lines of the table for one mode's scenario results, or [] if nothing was measured. */
export function ratioMatrix(scenarios, tool) {
  const servers = [...new Set(scenarios.flatMap((s) => [...s.summary.filter((r) => r.tool === tool).map((r) => r.server), ...s.skipped.map((k) => k.server)]))]
  if (!scenarios.some((s) => s.summary.some((r) => r.tool === tool))) return []
  const lines = [`| server | ${scenarios.map((s) => s.scenario).join(' | ')} |`, `|---|${scenarios.map(() => '--:').join('|')}|`]
  for (const name of servers) {
    const cells = scenarios.map((s) => {
      const r = s.summary.find((x) => x.server === name && x.tool === tool)
      if (r) return `${Math.round(r.rps).toLocaleString('en-US')} (${r.ratio == null ? '-' : `${r.ratio.toFixed(2)}x`})`
      if (s.skipped.some((k) => k.server === name)) return 'skip'
      return s.errors.some((e) => e.server === name) ? 'FAIL' : '-'
    })
    lines.push(`| ${name} | ${cells.join(' | ')} |`)
  }
  return lines
}

/** "server: reason (scenarios)" for every skip, each reason once. */
export function skipReasons(scenarios) {
  const reasons = new Map()
  for (const s of scenarios) {
    for (const k of s.skipped) {
      const key = `${k.server}: ${k.reason}`
      reasons.set(key, [...(reasons.get(key) ?? []), s.scenario])
    }
  }
  return [...reasons].map(([r, list]) => `${r} (${list.join(', ')})`)
}

/** Markdown lines of the load generators' ceilings (run.mjs measureCeilings). A tool below 85%
 * of a core was held back by the canned server, so its figure is only a floor for its ceiling. */
export function ceilingLines(ceilings) {
  const lines = ['| tool | req/s | client CPU | limited by |', '|---|--:|--:|---|']
  for (const [tool, c] of Object.entries(ceilings)) {
    const by = c.clientCpuPercent >= 85 ? 'the tool (its ceiling)' : 'the canned server (a floor for the tool\'s ceiling)'
    lines.push(`| ${tool} | ${Math.round(c.rps).toLocaleString('en-US')} | ${c.clientCpuPercent.toFixed(0)}% | ${by} |`)
  }
  return lines
}
