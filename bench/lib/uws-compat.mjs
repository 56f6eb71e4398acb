// uWebSockets.js on an older glibc. The prebuilt addon of @btc-vision/uwebsockets.js asks for
// GLIBC_2.38 for three functions only (__isoc23_sscanf, __isoc23_strtol, __isoc23_strtoul, the
// C23 variants that also accept 0b prefixes). Debian 12 has glibc 2.36, so the addon does not
// load. This module makes a patched copy under bench/.uws-compat/:
//   * in the ELF's version-needs table, the GLIBC_2.38 entry is marked weak (VER_FLG_WEAK), so
//     the loader no longer refuses the file;
//   * the symbols bound to that version become unversioned (.gnu.version index 1);
//   * a 6-line C shim (libisoc23.so) defines the three functions over the classic sscanf/strtol/
//     strtoul, and the server process gets it through LD_PRELOAD.
// The difference (no 0b prefix parsing) does not matter to an HTTP hello world. Nothing in
// node_modules is modified. Needs a C compiler (cc).
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const SHT_GNU_VERNEED = 0x6ffffffe
const SHT_GNU_VERSYM = 0x6fffffff
const VER_FLG_WEAK = 0x2

const SHIM_C = `#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
int __isoc23_sscanf(const char *s, const char *f, ...) { va_list a; va_start(a, f); int r = vsscanf(s, f, a); va_end(a); return r; }
long __isoc23_strtol(const char *s, char **e, int b) { return strtol(s, e, b); }
unsigned long __isoc23_strtoul(const char *s, char **e, int b) { return strtoul(s, e, b); }
`

/** Marks every version need named `version` weak and unbinds the symbols that used it. */
function weakenVersion(buf, version) {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) throw new Error('not a little-endian ELF64 file')
  const shoff = Number(buf.readBigUInt64LE(0x28))
  const shentsize = buf.readUInt16LE(0x3a)
  const shnum = buf.readUInt16LE(0x3c)
  const sections = []
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize
    sections.push({
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 24)),
      size: Number(buf.readBigUInt64LE(o + 32)),
      link: buf.readUInt32LE(o + 40),
      info: buf.readUInt32LE(o + 44),
    })
  }
  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED)
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM)
  if (!verneed || !versym) throw new Error('no version sections')
  const strtab = sections[verneed.link]
  const str = (off) => {
    const start = strtab.offset + off
    return buf.toString('latin1', start, buf.indexOf(0, start))
  }
  const indexes = new Set()
  let vn = verneed.offset
  for (let i = 0; i < verneed.info; i++) {
    const cnt = buf.readUInt16LE(vn + 2)
    let aux = vn + buf.readUInt32LE(vn + 8)
    for (let j = 0; j < cnt; j++) {
      if (str(buf.readUInt32LE(aux + 8)) === version) {
        buf.writeUInt16LE(buf.readUInt16LE(aux + 4) | VER_FLG_WEAK, aux + 4)
        indexes.add(buf.readUInt16LE(aux + 6))
      }
      aux += buf.readUInt32LE(aux + 12)
    }
    const next = buf.readUInt32LE(vn + 12)
    if (!next) break
    vn += next
  }
  let unbound = 0
  for (let o = versym.offset; o < versym.offset + versym.size; o += 2) {
    if (indexes.has(buf.readUInt16LE(o) & 0x7fff)) {
      buf.writeUInt16LE(1, o)
      unbound++
    }
  }
  return { needs: indexes.size, unbound }
}

/**
 * Loads nothing; returns { env } for a server that requires uWebSockets.js, or { skip: reason }.
 * If the stock addon loads, env is empty. Otherwise a patched copy is prepared (once) and env
 * points UWS_ADDON at it, with LD_PRELOAD for the shim.
 */
export function uwsSetup(bench) {
  const require = createRequire(path.join(bench, 'package.json'))
  let pkgDir
  try {
    pkgDir = path.dirname(require.resolve('@btc-vision/uwebsockets.js'))
  } catch {
    return { skip: '@btc-vision/uwebsockets.js not installed (npm install --prefix bench)' }
  }
  const file = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`
  const stock = path.join(pkgDir, file)
  if (!existsSync(stock)) return { skip: `uWebSockets.js has no ${file} (Node ${process.version})` }
  try {
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(stock)})`], { stdio: 'pipe' })
    return { env: { UWS_ADDON: stock } }
  } catch (err) {
    if (!/GLIBC_2\.38/.test(String(err.stderr))) return { skip: `uWebSockets.js does not load: ${String(err.stderr).split('\n').find((l) => /Error/.test(l)) ?? err.message}` }
  }
  const dir = path.join(bench, '.uws-compat')
  const addon = path.join(dir, file)
  const shim = path.join(dir, 'libisoc23.so')
  const env = { UWS_ADDON: addon, LD_PRELOAD: shim }
  try {
    if (!existsSync(addon) || !existsSync(shim)) {
      mkdirSync(dir, { recursive: true })
      writeFileSync(path.join(dir, 'isoc23.c'), SHIM_C)
      execFileSync('cc', ['-O2', '-shared', '-fPIC', '-o', shim, path.join(dir, 'isoc23.c')], { stdio: 'pipe' })
      const buf = readFileSync(stock)
      const { needs, unbound } = weakenVersion(buf, 'GLIBC_2.38')
      if (!needs) throw new Error('no GLIBC_2.38 need found')
      writeFileSync(`${addon}.tmp`, buf)
      copyFileSync(`${addon}.tmp`, addon)
      process.stderr.write(`[bench] uWebSockets.js: patched copy ${path.relative(bench, addon)} (${unbound} symbols unbound from GLIBC_2.38) + LD_PRELOAD shim\n`)
    }
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(addon)}).App()`], { stdio: 'pipe', env: { ...process.env, ...env } })
  } catch (err) {
    return { skip: `uWebSockets.js needs glibc 2.38 and the compat copy failed: ${String(err.stderr || err.message).split('\n')[0]}` }
  }
  return { env, compat: true }
}
