// Writes to stdout and stderr, at import and on each request, for --capture-output.
console.log('imported: stdout')
console.error('imported: stderr')

export function app(environ, startResponse) {
  console.log(`request ${environ.PATH_INFO}: stdout`)
  console.error(`request ${environ.PATH_INFO}: stderr`)
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return 'ok\n'
}
