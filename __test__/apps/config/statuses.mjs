// Responses of every shape, chosen by path, for the request hooks: each must see one
// post_request with the status line actually sent.
const text = [['Content-Type', 'text/plain']]
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export function app(environ, startResponse) {
  switch (environ.PATH_INFO) {
    case '/plain':
      startResponse('200 OK', text)
      return 'plain'
    case '/not-found':
      startResponse('404 Not Found', text)
      return 'nope'
    case '/async':
      return (async () => {
        await delay(20)
        startResponse('201 Created', text)
        return 'created'
      })()
    case '/gen':
      startResponse('200 OK', text)
      return (function* () {
        yield 'a;'
        yield 'b'
      })()
    case '/empty-gen':
      startResponse('204 No Content', [])
      return (function* () {})()
    case '/empty-chunks':
      startResponse('200 OK', text)
      return (function* () {
        yield ''
      })()
    case '/write': {
      const write = startResponse('202 Accepted', text)
      write('w;')
      return ['returned']
    }
    case '/throw':
      throw new Error('statuses app failure (ugn-test-marker)')
    default:
      startResponse('200 OK', text)
      return 'default'
  }
}
