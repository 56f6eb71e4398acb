// Express's own view of the request's protocol: req.protocol and req.secure read the socket.
import express from 'express'

export const app = express()
app.get('/', (req, res) => res.json({ protocol: req.protocol, secure: req.secure }))
