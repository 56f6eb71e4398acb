// /block spins forever on the JavaScript thread, as a handler stuck in a loop would.
export function app(environ, startResponse) {
  if (environ.PATH_INFO === '/block') for (;;) {}
  startResponse('200 OK', [['Content-Type', 'text/plain'], ['X-Pid', String(process.pid)]])
  return ['ok']
}
