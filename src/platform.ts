// ugn runs where Gunicorn does: Linux and macOS. Imported first by the CLI, so that on Windows
// `ugn` ends with one line saying so, before anything loads the native binary (which
// src/native.ts would refuse with an exception and its stack).

export const UNSUPPORTED_PLATFORM_MESSAGE =
  'ugn runs on Linux and macOS only: its pre-fork model needs POSIX processes and signals (Windows is not supported; WSL is Linux)'

if (process.platform === 'win32') {
  process.stderr.write(`ugn: ${UNSUPPORTED_PLATFORM_MESSAGE}\n`)
  process.exit(1)
}
