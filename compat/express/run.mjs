#!/usr/bin/env node
// Runs Express's own test suite (test/, from the expressjs/express tag named in README.md) with
// every http.createServer served by ugn's engine in process (ugn-http.mjs), as TAP.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const mocha = path.join(here, 'node_modules', 'mocha', 'bin', 'mocha.js')
// Tests that ugn answers differently from node:http on purpose, each with its reason in
// docs/compatibility.md. They send `Host: http://example.com`, which RFC 9112 §3.2 requires a
// server to refuse with 400; node:http does not check the Host value.
const DEVIATIONS = [
  'res when accepting html should escape the url',
  'res when accepting html should not render evil javascript links',
  'res when accepting text should encode the url',
]
const deviations = ['--grep', `^(${DEVIATIONS.join('|')})`, '--invert']
const args = [mocha, '--require', './ugn-http.mjs', '--require', 'test/support/env', '--reporter', 'tap', '--check-leaks', '--timeout', '10000', ...deviations, 'test/']
const child = spawn(process.execPath, args, { cwd: here, stdio: 'inherit' })
child.on('close', (code) => process.exit(code ?? 1))
