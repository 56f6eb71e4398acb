// The fetch interface over HTTP/2 (__test__/http2.spec.mjs), routed by path: /info (what the
// Request says), /echo (the body streamed back), /download?n=N (N bytes of a known pattern),
// /hop (connection-specific headers HTTP/2 must drop).
import { pattern } from './http2-native.mjs'

export default {
  async fetch(request) {
    const url = new URL(request.url)
    switch (url.pathname) {
      case '/info':
        return Response.json({
          method: request.method,
          url: request.url,
          host: request.headers.get('host'),
          test: request.headers.get('x-test'),
          body: await request.text(),
        })
      case '/echo':
        return new Response(await request.arrayBuffer(), { headers: { 'Content-Type': 'application/octet-stream' } })
      case '/download':
        return new Response(pattern(Number(url.searchParams.get('n') ?? 1 << 20)), { headers: { 'Content-Type': 'application/octet-stream' } })
      case '/hop':
        return new Response('hop by hop', { headers: { 'Content-Type': 'text/plain', Connection: 'keep-alive', 'Keep-Alive': 'timeout=5', 'X-Kept': 'yes' } })
      default:
        return new Response('hello')
    }
  },
}
