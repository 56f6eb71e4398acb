// Several apps in one module, for MODULE:ATTR and dotted ATTR forms.
export function app(environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return 'named app'
}
export function other(environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return 'other app'
}
export const handlers = {
  main(environ, startResponse) {
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    return 'handlers.main'
  },
}
export const notCallable = 'I am a string'
