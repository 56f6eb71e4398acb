// `environ['ugn.input']`: the request body as a pull stream. Bytes come from the Rust engine
// in chunks; reading is paused in Rust while more than HIGH_WATER bytes wait here unread.

import { Readable } from 'node:stream'

import { native } from '../native.js'

const HIGH_WATER = 1024 * 1024

export class RequestBodyError extends Error {
  name = 'RequestBodyError'
}

const NO_TRAILERS: [string, string][] = []

function parseTrailers(lines: string): [string, string][] {
  const fields: [string, string][] = []
  for (const line of lines.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) fields.push([line.slice(0, colon), line.slice(colon + 2)])
  }
  return fields
}

export class RequestInput implements AsyncIterable<Buffer> {
  private chunks: Buffer[] = []
  private buffered = 0
  private allArrived: boolean
  private failure: Error | undefined
  private waiter: (() => void) | undefined
  private paused = false

  /**
   * @param id the connection carrying the request (0 with `ended` for a complete body)
   * @param body bytes that arrived with the head
   * @param ended whether `body` is the whole body
   * @param trailerLines the trailer section of a whole chunked body, as `name: value\r\n` lines
   */
  constructor(
    private readonly id: number,
    body: Buffer | undefined,
    ended: boolean,
    trailerLines?: string,
  ) {
    if (trailerLines !== undefined) this.trailers = parseTrailers(trailerLines)
    if (body !== undefined && body.length > 0) {
      this.chunks.push(body)
      this.buffered = body.length
    }
    this.allArrived = ended
  }

  /** Bytes received so far and not yet read. */
  get readableLength(): number {
    return this.buffered
  }

  /** Whether the whole body has arrived (it may still wait here unread). */
  get ended(): boolean {
    return this.allArrived
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    if (!this.paused && this.buffered > HIGH_WATER) {
      this.paused = true
      native.pauseBody(this.id, true)
    }
    this.wake()
  }

  /** The trailer fields of a chunked body (names as sent), known once the body has ended. */
  trailers: [string, string][] = NO_TRAILERS

  end(trailerLines?: string): void {
    if (trailerLines !== undefined) this.trailers = parseTrailers(trailerLines)
    this.allArrived = true
    this.wake()
  }

  fail(error: Error): void {
    this.failure = error
    this.wake()
  }

  /** The next chunk of the body, or null at its end. */
  async read(): Promise<Buffer | null> {
    while (this.chunks.length === 0) {
      if (this.failure) throw this.failure
      if (this.allArrived) return null
      await new Promise<void>((resolve) => (this.waiter = resolve))
    }
    const chunk = this.chunks.shift() as Buffer
    this.buffered -= chunk.length
    if (this.paused && this.buffered <= HIGH_WATER / 2) {
      this.paused = false
      native.pauseBody(this.id, false)
    }
    return chunk
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (let chunk = await this.read(); chunk !== null; chunk = await this.read()) yield chunk
  }

  /** The whole body in one Buffer. */
  async buffer(): Promise<Buffer> {
    if (this.allArrived && !this.failure && this.chunks.length <= 1) {
      const only = this.chunks[0] ?? Buffer.alloc(0)
      this.chunks = []
      this.buffered = 0
      return only
    }
    const parts: Buffer[] = []
    for await (const chunk of this) parts.push(chunk)
    return Buffer.concat(parts)
  }

  async text(): Promise<string> {
    return (await this.buffer()).toString('utf8')
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }

  /** The body as a Node Readable stream. */
  toReadable(): Readable {
    return Readable.from(this, { objectMode: false })
  }

  private wake(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }
}
