// A lighter global Response for workers serving a fetch-style app. A real (undici) Response
// costs several times ugn's whole request path to build and as much again to read back
// through its stream, for what is usually a short string. The stand-in keeps the body and
// init as given, so the adapter can send a string or bytes in one call; every other use
// builds the real Response once and delegates to it. `instanceof Response` holds both ways,
// for stand-ins and for real Responses (from fetch(), Response.json(), ...). This is the
// technique @hono/node-server uses by default.

import { delegateToReal } from './delegate.js'

const RealResponse = globalThis.Response

type Sendable = string | Uint8Array | null

export interface LightParts {
  status: number
  statusText: string
  /** Header pairs as given: names not yet lower-cased; Set-Cookie may repeat. */
  headers: [string, string][]
  body: Sendable
}

const TEXT_PLAIN = 'text/plain;charset=UTF-8'

function headerPairs(init: HeadersInit | undefined): [string, string][] | undefined {
  if (init === undefined || init === null) return []
  if (init instanceof Headers) return undefined
  if (Array.isArray(init)) return init.map(([name, value]) => [String(name), String(value)])
  if (typeof init === 'object' && !(Symbol.iterator in init)) {
    return Object.entries(init as Record<string, string>).map(([name, value]) => [name, String(value)])
  }
  return undefined
}

export class LightResponse {
  #body: BodyInit | null
  #init: ResponseInit | undefined
  #real: Response | undefined

  /** Whether `value` is a stand-in (`instanceof` also accepts real Responses). */
  static isLight(value: unknown): value is LightResponse {
    return typeof value === 'object' && value !== null && #body in value
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return LightResponse.isLight(value) || Function.prototype[Symbol.hasInstance].call(RealResponse, value)
  }

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    this.#body = body ?? null
    this.#init = init
  }

  /** The real Response, built on first need (it validates status and headers then). */
  materialize(): Response {
    this.#real ??= new RealResponse(this.#body, this.#init)
    return this.#real
  }

  /** Status, headers and body ready to send without building the real Response, or
   * undefined when only the real one can say (a stream, a Blob, a Headers object, ...). */
  sendable(): LightParts | undefined {
    if (this.#real !== undefined) return undefined
    const body = this.#body
    const isText = typeof body === 'string'
    if (!(body === null || isText || body instanceof Uint8Array)) return undefined
    const init = this.#init ?? {}
    const status = init.status ?? 200
    if (!Number.isInteger(status) || status < 200 || status > 599) return undefined
    if (body !== null && (status === 204 || status === 205 || status === 304)) return undefined
    const headers = headerPairs(init.headers)
    if (headers === undefined) return undefined
    if (isText && !headers.some(([name]) => name.toLowerCase() === 'content-type')) headers.push(['content-type', TEXT_PLAIN])
    return { status, statusText: init.statusText ?? '', headers, body: body as Sendable }
  }

  get status(): number {
    return this.#real?.status ?? this.#init?.status ?? 200
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299
  }
}

Object.setPrototypeOf(LightResponse, RealResponse)
Object.setPrototypeOf(LightResponse.prototype, RealResponse.prototype)

delegateToReal(LightResponse, RealResponse)

/** Makes `new Response(...)` build stand-ins in this process. */
export function installLightResponse(): void {
  if (globalThis.Response === (LightResponse as unknown)) return
  Object.defineProperty(globalThis, 'Response', { value: LightResponse, writable: true, configurable: true })
}
