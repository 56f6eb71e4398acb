// For the lifecycle-under-load tests: every answer names the worker that served it (X-Pid header
// and body). /slow waits 2 s before answering; /block spins forever on the JavaScript thread, as
// a handler stuck in a loop would. Both log when they start, so a test can wait for that.
export async function app(environ, startResponse) {
  if (environ.PATH_INFO === '/block') {
    console.error(`blocking in ${process.pid}`)
    for (;;) {}
  }
  if (environ.PATH_INFO === '/slow') {
    console.error(`slow request started in ${process.pid}`)
    await new Promise((resolve) => setTimeout(resolve, 2000))
  }
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['X-Pid', String(process.pid)],
  ])
  return [String(process.pid)]
}
