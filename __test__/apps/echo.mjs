// Echoes the request as JSON: method, path, query, raw URI, protocol, headers, body.
export async function app(environ, startResponse) {
  const body = await environ['ugn.input'].buffer()
  const headers = {}
  for (const [k, v] of Object.entries(environ)) {
    if (k.startsWith('HTTP_') || k === 'CONTENT_TYPE' || k === 'CONTENT_LENGTH') headers[k] = v
  }
  const out = JSON.stringify({
    method: environ.REQUEST_METHOD,
    path: environ.PATH_INFO,
    query: environ.QUERY_STRING,
    rawUri: environ.RAW_URI,
    protocol: environ.SERVER_PROTOCOL,
    headers,
    body: body.toString('latin1'),
    bodyLength: body.length,
    pid: process.pid,
  })
  startResponse('200 OK', [
    ['Content-Type', 'application/json'],
    ['X-Pid', String(process.pid)],
  ])
  return out
}
