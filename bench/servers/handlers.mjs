// Request handlers for the node:http baselines, one per scenario app (see bench/scenarios.mjs):
// the exports of apps/node.mjs, which ugn's node adapter serves too.
import * as handlers from '../apps/node.mjs'

export { handlers }

export function handlerFor(name) {
  const h = handlers[name]
  if (!h) throw new Error(`no node handler for scenario app ${JSON.stringify(name)}`)
  return h
}
