// For __test__/abusive-input.spec.mjs. Every request the app sees is recorded (method and
// path), so a test can tell that a refused request never reached it: /seen answers the record
// as JSON (and is not itself recorded). /discard reads the request body chunk by chunk (after
// ?delay=MS if asked), keeps none of it, and answers the byte count; a failed read is logged. Anything else answers
// "<path> <pid>", padded with dots to ?pad=N bytes if asked, so pipelined responses can be
// matched to their requests in order and made as large as a test needs.
const seen = []

export async function app(environ, startResponse) {
  const path = environ.PATH_INFO
  if (path === '/seen') {
    startResponse('200 OK', [['Content-Type', 'application/json']])
    return JSON.stringify(seen)
  }
  seen.push(`${environ.REQUEST_METHOD} ${path}`)
  if (seen.length > 1000) seen.splice(0, seen.length - 1000)
  if (path === '/discard') {
    let bytes = 0
    const delay = Number(/(?:^|&)delay=(\d+)/.exec(environ.QUERY_STRING)?.[1] ?? 0)
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay))
    try {
      for await (const chunk of environ['ugn.input']) bytes += chunk.length
    } catch (err) {
      console.error(`discard failed after ${bytes} bytes: ${err.message}`)
      throw err
    }
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    return `${bytes}`
  }
  const text = `${path} ${process.pid}`
  const pad = Number(/(?:^|&)pad=(\d+)/.exec(environ.QUERY_STRING)?.[1] ?? 0)
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return text.length < pad ? text + '.'.repeat(pad - text.length) : text
}
