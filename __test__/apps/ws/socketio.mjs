// socket.io on an exported http.Server: rooms and broadcasts.
import http from 'node:http'

import { Server } from 'socket.io'

export const server = http.createServer((req, res) => {
  res.end('not socket.io')
})
const io = new Server(server)

io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    socket.join(room)
    ack(`joined ${room}`)
  })
  socket.on('shout', (room, text) => io.to(room).emit('heard', { from: socket.id, text }))
})
