// App factories: `factory.mjs:create_app()`, `factory.mjs:create_app("x", 2)`, async factory.
export function create_app(name = 'default', times = 1) {
  return (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    return `factory ${name} x${times}`
  }
}
export async function create_app_async() {
  await new Promise((resolve) => setTimeout(resolve, 10))
  return (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']])
    return 'async factory'
  }
}
export function returns_nothing() {}
