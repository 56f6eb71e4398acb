// For bench/gc.mjs: a native app answering at once (`sync`) or after one `await` (`async`),
// with the worker's garbage collection counted by a PerformanceObserver. `GET /gc` answers
// the counts since the previous `GET /gc` and starts counting afresh.
import { PerformanceObserver } from 'node:perf_hooks'

const HEADERS = [['Content-Type', 'text/plain']]
let gc = { minorMs: 0, minor: 0, majorMs: 0, major: 0 }

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.detail.kind === 1) {
      gc.minorMs += entry.duration
      gc.minor++
    } else {
      gc.majorMs += entry.duration
      gc.major++
    }
  }
}).observe({ entryTypes: ['gc'] })

function answer(environ, startResponse) {
  if (environ.PATH_INFO === '/gc') {
    const counts = JSON.stringify(gc)
    gc = { minorMs: 0, minor: 0, majorMs: 0, major: 0 }
    startResponse('200 OK', [['Content-Type', 'application/json']])
    return counts
  }
  startResponse('200 OK', HEADERS)
  return 'Hello, World!'
}

export const sync = answer

export async function async(environ, startResponse) {
  await null
  return answer(environ, startResponse)
}
