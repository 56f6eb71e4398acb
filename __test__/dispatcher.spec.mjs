// The dispatcher's table of requests still in flight, driven directly as the engine would
// drive it: exchanges are found by connection slot, and an id whose slot has been reused by a
// newer connection reaches nobody.
import test from 'ava'

import { CONN_SLOT_MASK, createDispatcher } from '../dist/bridge/dispatcher.js'
import { F_BODY_COMPLETE, M_FLAGS, M_ID, M_LISTENER } from '../dist/bridge/environ.js'
import { EV_CLOSED } from '../dist/native.js'

const pending = () => new Promise(() => {})

function dispatcher() {
  const environs = []
  const app = (environ) => {
    environs.push(environ)
    return pending()
  }
  const d = createDispatcher([app], 8, { servers: [{ name: '127.0.0.1', port: '80' }], multiprocess: false, fileWrapper: undefined })
  const request = (id) => {
    d.reqMeta[M_ID] = id
    d.reqMeta[M_FLAGS] = F_BODY_COMPLETE | (1 << 8)
    d.reqMeta[M_LISTENER] = 0
    d.onRequest('GET / HTTP/1.1\r\n\r\n127.0.0.1', undefined, undefined)
    const environ = environs.at(-1)
    const closes = []
    environ['ugn.on_close']((completed) => closes.push(completed))
    return closes
  }
  return { d, request }
}

const idOf = (slot, generation) => (generation * (CONN_SLOT_MASK + 1)) | slot

test('an async request is in flight until its connection closes', (t) => {
  const { d, request } = dispatcher()
  const closes = request(idOf(3, 1))
  t.is(d.inFlight(), 1)
  d.onEvent(EV_CLOSED, idOf(3, 1), undefined)
  t.deepEqual(closes, [false])
  t.is(d.inFlight(), 0)
})

test('requests on different slots are tracked apart', (t) => {
  const { d, request } = dispatcher()
  const first = request(idOf(1, 1))
  const second = request(idOf(2, 1))
  t.is(d.inFlight(), 2)
  d.onEvent(EV_CLOSED, idOf(2, 1), undefined)
  t.deepEqual(first, [])
  t.deepEqual(second, [false])
  t.is(d.inFlight(), 1)
})

test('an event for an earlier connection on a reused slot reaches nobody', (t) => {
  const { d, request } = dispatcher()
  request(idOf(5, 1))
  const newer = request(idOf(5, 2))
  t.is(d.inFlight(), 1)
  d.onEvent(EV_CLOSED, idOf(5, 1), undefined)
  t.deepEqual(newer, [])
  t.is(d.inFlight(), 1)
  d.onEvent(EV_CLOSED, idOf(5, 2), undefined)
  t.deepEqual(newer, [false])
  t.is(d.inFlight(), 0)
})
