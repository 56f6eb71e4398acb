// For the lifecycle-under-load tests: every answer names the worker that served it (X-Pid header
// and body). /slow waits 2 s before answering; /block spins forever on the JavaScript thread, as
// a handler stuck in a loop would.
export async function app(environ, startResponse) {
  if (environ.PATH_INFO === '/block') for (;;) {}
  if (environ.PATH_INFO === '/slow') await new Promise((resolve) => setTimeout(resolve, 2000))
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['X-Pid', String(process.pid)],
  ])
  return [String(process.pid)]
}
