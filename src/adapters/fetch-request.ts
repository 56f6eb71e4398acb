// The Request a fetch-style app receives. Building a real (undici) Request costs more than
// ugn's whole request path, and most apps read only its method, URL and a header or two. So
// the app gets a stand-in that inherits from Request (`instanceof Request` holds) and answers
// those from the environ; any other member builds the real Request once, with a streamed body
// and an AbortSignal that fires when the client goes away, and delegates to it.

import type { Environ } from '../bridge/environ.js'
import type { RequestInput } from '../bridge/input.js'
import { delegateToReal } from './delegate.js'
import { forEachRequestHeader, requestHost } from './request-headers.js'

function requestUrl(environ: Environ): string {
  const target = environ.RAW_URI
  const origin = `${environ['ugn.url_scheme']}://${requestHost(environ)}`
  if (target.startsWith('/')) return origin + target
  // An absolute-form target (as proxies send) already names scheme and host; `*` has no path.
  return target === '*' ? `${origin}/` : target
}

function bodyStream(input: RequestInput): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await input.read()
      if (chunk === null) controller.close()
      else controller.enqueue(chunk)
    },
  })
}

function hasBody(environ: Environ): boolean {
  const method = environ.REQUEST_METHOD
  if (method === 'GET' || method === 'HEAD') return false
  const input = environ['ugn.input']
  return !input.ended || input.readableLength > 0
}

export class BridgeRequest {
  #environ: Environ
  #url: string | undefined
  #headers: Headers | undefined
  #real: Request | undefined

  constructor(environ: Environ) {
    this.#environ = environ
    // Fails here, where the adapter can answer 400, rather than inside the app.
    this.#url = new URL(requestUrl(environ)).href
  }

  get method(): string {
    return this.#environ.REQUEST_METHOD
  }

  get url(): string {
    return this.#url as string
  }

  get headers(): Headers {
    if (this.#real !== undefined) return this.#real.headers
    if (this.#headers === undefined) {
      const headers = new Headers()
      forEachRequestHeader(this.#environ, (name, value) => headers.append(name, value))
      this.#headers = headers
    }
    return this.#headers
  }

  /** The real Request, built on first need. */
  materialize(): Request {
    if (this.#real !== undefined) return this.#real
    const environ = this.#environ
    const aborter = new AbortController()
    environ['ugn.on_close']((completed) => {
      if (!completed) aborter.abort(new Error('the client closed the connection'))
    })
    this.#real = new Request(this.url, {
      method: this.method,
      headers: this.headers,
      body: hasBody(environ) ? bodyStream(environ['ugn.input']) : null,
      signal: aborter.signal,
      // Required by the fetch spec for a streamed body.
      duplex: 'half',
    } as RequestInit)
    return this.#real
  }
}

Object.setPrototypeOf(BridgeRequest.prototype, Request.prototype)

delegateToReal(BridgeRequest, Request)
