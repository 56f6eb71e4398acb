// For slow and hostile clients. /upload reads the whole body and answers its length (a failed
// read is logged); /endless streams 64 KiB chunks until 256 MiB or until the client is gone
// (logged with the bytes produced); anything else answers "ok" with the worker's pid.
const CHUNK = Buffer.alloc(64 * 1024, 'x')

export async function app(environ, startResponse) {
  if (environ.PATH_INFO === '/upload') {
    try {
      const body = await environ['ugn.input'].buffer()
      startResponse('200 OK', [['Content-Type', 'text/plain']])
      return `${body.length}`
    } catch (err) {
      console.error(`upload failed: ${err.message}`)
      throw err
    }
  }
  if (environ.PATH_INFO === '/endless') {
    let produced = 0
    environ['ugn.on_close']((completed) => console.error(`endless stream closed after ${produced} bytes, completed: ${completed}`))
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']])
    return (async function* () {
      while (produced < 256 * 1024 * 1024) {
        produced += CHUNK.length
        yield CHUNK
      }
    })()
  }
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return `ok ${process.pid}`
}
