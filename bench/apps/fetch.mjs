// The scenarios' hello worlds as fetch handlers ({ fetch(request) -> Response }), one export per
// scenario app: served by `ugn bench/apps/fetch:NAME` (the fetch adapter) and by Bun.serve in
// servers/bun.mjs, so both run the same code.
const TEXT = { 'Content-Type': 'text/plain' }
const BLOB = new Uint8Array(65536).fill(0x78)

export const plaintext = {
  fetch: () => new Response('Hello, World!', { headers: TEXT }),
}

export const json = {
  fetch: () => new Response(JSON.stringify({ message: 'Hello, World!' }), { headers: { 'Content-Type': 'application/json' } }),
}

export const bytes64k = {
  fetch: () => new Response(BLOB, { headers: { 'Content-Type': 'application/octet-stream' } }),
}

export const upload = {
  async fetch(request) {
    let n = 0
    if (request.body) for await (const chunk of request.body) n += chunk.byteLength
    return new Response(String(n), { headers: TEXT })
  },
}
