#!/usr/bin/env node
// Runs Express's own test suite (test/, from the expressjs/express tag named in README.md) with
// every http.createServer served by ugn's engine in process (ugn-http.mjs), as TAP.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const mocha = path.join(here, 'node_modules', 'mocha', 'bin', 'mocha.js')
const args = [mocha, '--require', './ugn-http.mjs', '--require', 'test/support/env', '--reporter', 'tap', '--check-leaks', '--timeout', '10000', 'test/']
const child = spawn(process.execPath, args, { cwd: here, stdio: 'inherit' })
child.on('close', (code) => process.exit(code ?? 1))
