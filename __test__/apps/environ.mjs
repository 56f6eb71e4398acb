// Dumps the environ: every primitive value as is, and a description of the objects.
export async function app(environ, startResponse) {
  const body = await environ['ugn.input'].text()
  const out = {}
  for (const [k, v] of Object.entries(environ)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v
    else if (Array.isArray(v)) out[k] = v
    else out[k] = `<${typeof v}>`
  }
  out['ugn.input:hasBuffer'] = typeof environ['ugn.input'].buffer === 'function'
  out['ugn.input:asyncIterable'] = typeof environ['ugn.input'][Symbol.asyncIterator] === 'function'
  out['ugn.errors:hasWrite'] = typeof environ['ugn.errors'].write === 'function'
  out['ugn.file_wrapper:isFunction'] = typeof environ['ugn.file_wrapper'] === 'function'
  out.body = body
  startResponse('200 OK', { 'Content-Type': 'application/json' })
  return JSON.stringify(out)
}
