// Responses of every shape the access log must count: whole, streamed, bodiless (304),
// failing (/boom throws), slow (/slow?ms=N, for the request time atoms), a stream a client
// can leave halfway (/drip?chunks=N: 1 KiB every 20 ms), and /exit, whose worker exits at once
// after answering.
export async function app(environ, startResponse) {
  switch (environ.PATH_INFO) {
    case '/boom':
      throw new Error('boom')
    case '/304':
      startResponse('304 Not Modified', [['ETag', '"v1"']])
      return ''
    case '/stream':
      startResponse('200 OK', { 'Content-Type': 'text/plain', 'X-Trace': 'abc "q"' })
      return (function* () {
        yield 'one\n'
        yield Buffer.from('two\n')
        yield 'thrée\n'
      })()
    case '/drip':
      startResponse('200 OK', [['Content-Type', 'text/plain']])
      return (async function* () {
        const chunks = Number(new URLSearchParams(environ.QUERY_STRING).get('chunks'))
        for (let i = 0; i < chunks; i++) {
          yield `chunk ${i}\n`.padEnd(1024, '.')
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })()
    case '/exit':
      setImmediate(() => process.exit(1))
      break
    case '/slow':
      await new Promise((resolve) => setTimeout(resolve, Number(new URLSearchParams(environ.QUERY_STRING).get('ms'))))
      break
  }
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['X-Trace', 'abc "q"'],
  ])
  return 'hello\n'
}
