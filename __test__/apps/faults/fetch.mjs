// Faults of a fetch-style app, one per path (__test__/app-faults.spec.mjs).
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function failingStream(message) {
  return new ReadableStream({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode('partial;'))
      await pause(100)
      controller.error(new Error(message))
    },
  })
}

export default {
  fetch(request) {
    const url = new URL(request.url)
    switch (url.pathname) {
      case '/pid':
        return new Response(String(process.pid))
      case '/throw':
        throw new Error('reason: thrown at once')
      case '/reject':
        return pause(10).then(() => {
          throw new Error('reason: rejected later')
        })
      case '/hang':
        request.signal.addEventListener('abort', () => console.error(`hang released ${url.search.slice(1)}`))
        return new Promise(() => {})
      case '/number':
        return 42
      case '/object':
        return { status: 200, body: 'a Response-like without headers' }
      case '/response-like':
        return { status: 200, headers: new Headers(), body: 'a string is not a Response body' }
      case '/foreign-response':
        // What a Response from another copy of undici looks like: not the global class.
        return { status: 201, statusText: 'Created', headers: new Headers({ 'x-kind': 'foreign' }), body: new Response('foreign body').body }
      case '/stream-error-at-once':
        return new Response(
          new ReadableStream({
            async pull(controller) {
              await pause(10)
              controller.error(new Error('reason: stream failed before its first chunk'))
            },
          }),
        )
      case '/crlf-status':
        return new Response('never sent', { statusText: 'OK\r\nSet-Cookie: evil=1' })
      case '/stream-error':
        return new Response(failingStream('reason: stream failed midway'))
      case '/stream-error-length':
        return new Response(failingStream('reason: stream failed midway'), { headers: { 'Content-Length': '100' } })
      case '/crlf':
        return new Response('never sent', { headers: { 'X-Injected': 'value\r\nSet-Cookie: evil=1' } })
      case '/crlf-headers':
        return new Response('never sent', { headers: new Headers({ 'X-Injected': 'value\r\nSet-Cookie: evil=1' }) })
      default:
        return new Response('not found', { status: 404 })
    }
  },
}
