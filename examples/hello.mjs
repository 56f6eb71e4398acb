// The smallest ugn app, in the native interface (docs/SPEC.md):
//   npx ugn examples/hello:app
export function app(environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return ['Hello, World!']
}
