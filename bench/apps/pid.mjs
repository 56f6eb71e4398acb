// For bench/balance.mjs: every answer names the worker that served it.
export function app(environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return [String(process.pid)]
}
