#!/usr/bin/env node
// Writes docs/settings.md from the settings registry (src/config/settings.ts), the one place
// settings are declared, and from the Gunicorn parity table (src/config/gunicorn-parity.ts).
// `--check` exits non-zero if the file is out of date instead. Either way it exits non-zero,
// naming the rows, if the parity table names a ugn setting or hook that does not exist.

import { existsSync, readFileSync, writeFileSync } from 'node:fs'

import { gunicornParity } from '../dist/config/gunicorn-parity.js'
import { settings } from '../dist/config/settings.js'

const target = new URL('../docs/settings.md', import.meta.url)

function render() {
  const lines = [
    '# Settings',
    '',
    'Generated from `src/config/settings.ts` by `node scripts/settings-doc.mjs`; do not edit by hand.',
    '',
  ]
  const sections = new Map()
  for (const s of Object.values(settings)) {
    if (!sections.has(s.section)) sections.set(s.section, [])
    sections.get(s.section).push(s)
  }
  for (const [section, list] of sections) {
    lines.push(`## ${section}`, '')
    for (const s of list) {
      const fallback = s.default()
      const shown = s.defaultText ?? (Array.isArray(fallback) ? fallback.join(', ') : String(fallback))
      lines.push(`### \`${s.name}\``, '')
      const meta = s.preset === undefined ? s.meta ?? 'VALUE' : `[${s.meta ?? 'VALUE'}]`
      const flags = s.flags.map((f) => `\`${f}${s.kind === 'bool' ? '' : ` ${meta}`}\``)
      lines.push(`- Command line: ${flags.length ? flags.join(', ') : 'none (config file only)'}`)
      lines.push(`- Default: \`${shown}\``)
      if (s.choices) lines.push(`- Allowed values: ${s.choices.map((c) => `\`${c}\``).join(', ')}`)
      lines.push('', s.help, '')
    }
  }
  lines.push(...renderParity())
  return lines.join('\n')
}

/** The hook names ugn knows, from the compiled src/hooks.ts; empty if it does not exist. */
async function hookNames() {
  const url = new URL('../dist/hooks.js', import.meta.url)
  if (!existsSync(url)) return []
  return [...(await import(url.href)).HOOK_NAMES]
}

const hooks = await hookNames()

/** Every way a row can be wrong; the doc is not written while any remains. */
function parityProblems() {
  const problems = []
  const seen = new Set()
  for (const row of gunicornParity) {
    const name = row.gunicorn
    if (typeof name !== 'string' || name === '') problems.push(`a row has no Gunicorn name: ${JSON.stringify(row)}`)
    else if (seen.has(name)) problems.push(`${name}: more than one row`)
    seen.add(name)
    const kinds = [typeof row.ugn === 'string', 'why' in row, 'planned' in row].filter(Boolean).length
    if (kinds !== 1) problems.push(`${name}: a row needs exactly one of ugn (a key), why or planned`)
    if (typeof row.ugn !== 'string') continue
    if (row.ugn.startsWith('hook:')) {
      const hook = row.ugn.slice('hook:'.length)
      if (!hooks.includes(hook)) problems.push(`${name}: ugn hook "${hook}" is not in HOOK_NAMES (src/hooks.ts)`)
    } else if (!Object.hasOwn(settings, row.ugn)) {
      problems.push(`${name}: ugn setting "${row.ugn}" is not in the settings registry (src/config/settings.ts)`)
    }
  }
  return problems
}

const cell = (text) => text.replaceAll('|', '\\|')

function ugnCell(row) {
  if (row.ugn.startsWith('hook:')) return `\`${row.ugn.slice('hook:'.length)}\` hook (config file)`
  const s = settings[row.ugn]
  if (s.flags.length === 0) return `\`${s.name}\` (config file only)`
  const flags = s.flags.map((f) => `\`${f}\``).join(', ')
  return s.name === row.gunicorn ? flags : `${flags} (config file: \`${s.name}\`)`
}

function renderParity() {
  const mapped = gunicornParity.filter((r) => typeof r.ugn === 'string')
  const planned = gunicornParity.filter((r) => 'planned' in r)
  const notOffered = gunicornParity.filter((r) => 'why' in r)
  const lines = [
    '## Gunicorn settings and their ugn counterparts',
    '',
    `Every Gunicorn 26.1 setting and server hook (${gunicornParity.length}), from \`src/config/gunicorn-parity.ts\`: ` +
      `${mapped.length} have a ugn counterpart, ${planned.length} are planned, ${notOffered.length} are not offered.`,
    '',
    '| Gunicorn setting | ugn | notes |',
    '|---|---|---|',
  ]
  for (const row of gunicornParity) {
    let ugn
    let notes
    if (typeof row.ugn === 'string') {
      ugn = ugnCell(row)
      notes = row.note ?? ''
    } else if ('planned' in row) {
      ugn = 'planned'
      notes = row.note ? `${row.planned}; ${row.note}` : row.planned
    } else {
      ugn = 'not offered'
      notes = row.why
    }
    lines.push(`| \`${row.gunicorn}\` | ${cell(ugn)} | ${cell(notes)} |`)
  }
  const covered = new Set(mapped.map((r) => r.ugn))
  const only = Object.entries(settings).filter(([key]) => !covered.has(key))
  lines.push('', '### ugn-only settings', '')
  if (only.length === 0) lines.push('None: every ugn setting has a Gunicorn counterpart above.')
  for (const [, s] of only) {
    const flags = s.flags.length ? s.flags.map((f) => `\`${f}\``).join(', ') : 'config file only'
    lines.push(`- \`${s.name}\` (${flags}): ${s.help}`)
  }
  lines.push('')
  return lines
}

const problems = parityProblems()
if (problems.length > 0) {
  console.error(`src/config/gunicorn-parity.ts does not match ugn's settings and hooks:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  process.exit(1)
}

const text = render()
if (process.argv.includes('--check')) {
  let current = ''
  try {
    current = readFileSync(target, 'utf8')
  } catch {}
  if (current !== text) {
    console.error('docs/settings.md is out of date: run node scripts/settings-doc.mjs')
    process.exit(1)
  }
} else {
  writeFileSync(target, text)
}
