// An app found through the module's default export (no `app` attribute).
export default function (environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return 'from default export'
}
