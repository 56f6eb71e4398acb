// The scenarios' hello worlds in ugn's native interface (docs/SPEC.md), one export per
// scenario app (bench/scenarios.mjs): `ugn bench/apps/native:json`. Plaintext is
// examples/hello.mjs, the app of the earlier figures; it is repeated here for completeness.
const TEXT = [['Content-Type', 'text/plain']]
const JSON_TYPE = [['Content-Type', 'application/json']]
const OCTETS = [['Content-Type', 'application/octet-stream']]
const BLOB = Buffer.alloc(65536, 'x')

export function plaintext(environ, startResponse) {
  startResponse('200 OK', TEXT)
  return ['Hello, World!']
}

export function json(environ, startResponse) {
  startResponse('200 OK', JSON_TYPE)
  return [JSON.stringify({ message: 'Hello, World!' })]
}

export function bytes64k(environ, startResponse) {
  startResponse('200 OK', OCTETS)
  return [BLOB]
}

export async function upload(environ, startResponse) {
  let n = 0
  for await (const chunk of environ['ugn.input']) n += chunk.length
  startResponse('200 OK', TEXT)
  return [String(n)]
}
