// A fetch-style app exercising the Request it gets and the Responses it may return.
import { appendFileSync } from 'node:fs'

let pulled = 0

export default {
  async fetch(request, environ) {
    const url = new URL(request.url)
    switch (url.pathname) {
      case '/inspect':
        return Response.json({
          method: request.method,
          url: request.url,
          isRequest: request instanceof Request,
          header: request.headers.get('x-test'),
          remote: environ.REMOTE_ADDR,
        })
      case '/echo':
        return new Response(await request.text(), { headers: { 'content-type': request.headers.get('content-type') ?? 'text/plain' } })
      case '/stream-in': {
        let bytes = 0
        for await (const chunk of request.body) bytes += chunk.length
        return new Response(String(bytes))
      }
      case '/real-response': {
        const headers = new Headers([['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-kind', 'real']])
        return new (Object.getPrototypeOf(Response))('real body', { status: 203, statusText: 'Fine', headers })
      }
      case '/bytes':
        return new Response(new Uint8Array([104, 105]), { status: 202 })
      case '/empty':
        return new Response(null, { status: 204 })
      case '/big-stream': {
        pulled = 0
        const chunk = new Uint8Array(64 * 1024)
        return new Response(
          new ReadableStream({
            pull(controller) {
              pulled++
              if (pulled > 1600) controller.close()
              else controller.enqueue(chunk)
            },
          }),
        )
      }
      case '/pulled':
        return new Response(String(pulled))
      case '/wait-abort':
        appendFileSync(url.searchParams.get('file'), 'started\n')
        request.signal.addEventListener('abort', () => appendFileSync(url.searchParams.get('file'), 'aborted\n'))
        return new Promise(() => {})
      case '/not-a-response':
        return 'just a string'
      default:
        return new Response('not found', { status: 404 })
    }
  },
}
