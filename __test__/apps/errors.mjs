// Apps that fail in every way the server must survive.
const text = [['Content-Type', 'text/plain']]

export function app(environ, startResponse) {
  switch (environ.PATH_INFO) {
    case '/sync-throw':
      throw new Error('sync failure (ugn-test-marker)')
    case '/async-reject':
      return (async () => {
        await new Promise((resolve) => setTimeout(resolve, 10))
        throw new Error('async failure (ugn-test-marker)')
      })()
    case '/throw-after-start':
      startResponse('200 OK', text)
      return (function* () {
        yield 'partial body;'
        throw new Error('failure after the response started (ugn-test-marker)')
      })()
    case '/async-throw-after-start':
      startResponse('200 OK', text)
      return (async function* () {
        yield 'partial body;'
        await new Promise((resolve) => setTimeout(resolve, 20))
        throw new Error('async failure after the response started (ugn-test-marker)')
      })()
    case '/crlf-header':
      startResponse('200 OK', [
        ['Content-Type', 'text/plain'],
        ['X-Injected', 'value\r\nSet-Cookie: evil=1'],
      ])
      return 'must not be sent'
    case '/bad-header-name':
      startResponse('200 OK', [
        ['Content-Type', 'text/plain'],
        ['Bad Name', 'x'],
      ])
      return 'must not be sent'
    case '/no-start':
      return 'body without startResponse'
    case '/bad-body':
      startResponse('200 OK', text)
      return 12345
    case '/crash-later':
      // An exception outside any request: the worker dies, the master replaces it.
      setTimeout(() => {
        throw new Error('uncaught in a timer (ugn-test-marker)')
      }, 50)
      startResponse('200 OK', [...text, ['X-Pid', String(process.pid)]])
      return 'crashing soon'
    case '/length-mismatch':
      startResponse('200 OK', [...text, ['Content-Length', '100']])
      return 'too short'
    case '/length-mismatch-stream':
      startResponse('200 OK', [...text, ['Content-Length', '100']])
      return (function* () {
        yield 'too '
        yield 'short'
      })()
    case '/exc-info':
      startResponse('200 OK', [...text, ['X-First', '1']])
      try {
        throw new Error('caught by the app')
      } catch (err) {
        startResponse('503 Service Unavailable', [...text, ['X-Second', '2']], err)
      }
      return 'replaced'
    default:
      startResponse('200 OK', [...text, ['X-Pid', String(process.pid)]])
      return 'ok'
  }
}
