#!/usr/bin/env node
// Writes docs/settings.md from the settings registry (src/config/settings.ts), the one place
// settings are declared. `--check` exits non-zero if the file is out of date instead.

import { readFileSync, writeFileSync } from 'node:fs'

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
      lines.push(`- Command line: ${s.flags.map((f) => `\`${f}${s.kind === 'bool' ? '' : ` ${s.meta ?? 'VALUE'}`}\``).join(', ')}`)
      lines.push(`- Default: \`${shown}\``)
      if (s.choices) lines.push(`- Allowed values: ${s.choices.map((c) => `\`${c}\``).join(', ')}`)
      lines.push('', s.help, '')
    }
  }
  return lines.join('\n')
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
