// Express and ws on one http.Server, exported instead of listened: ugn serves its 'request'
// listeners and hands upgrade requests to the WebSocketServer's 'upgrade' listener.
import http from 'node:http'

import express from 'express'
import { WebSocketServer } from 'ws'

const app = express()
app.get('/', (req, res) => res.send(`http ${process.pid}`))

export const server = http.createServer(app)
const wss = new WebSocketServer({ server, perMessageDeflate: true })

wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString()
    if (text === 'pid') return ws.send(`pid ${process.pid}`)
    if (text === 'who') return ws.send(`${req.socket.remoteAddress} ${req.url} ${req.headers['sec-websocket-protocol'] ?? ''}`)
    if (text === 'close-me') return ws.close(4001, 'server bye')
    ws.send(data, { binary: isBinary })
  })
  ws.on('close', (code, reason) => console.error(`ws closed ${code} ${reason}`))
  ws.on('error', (err) => console.error(`ws error ${err.message}`))
})
