// 103 Early Hints from the native interface.
export function app(environ, startResponse) {
  environ['ugn.early_hints']([['Link', '</app.css>; rel=preload; as=style']])
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return 'page'
}
