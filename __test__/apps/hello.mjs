// The smallest app: a fixed body, and the worker's pid in a header.
export function app(environ, startResponse) {
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['X-Pid', String(process.pid)],
  ])
  return 'Hello, World!'
}
