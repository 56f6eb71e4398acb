// Two parameters with names that say nothing: native or (req, res)?
export const app = (a, b) => {
  b('200 OK', [['content-type', 'text/plain']])
  return 'served as native'
}
