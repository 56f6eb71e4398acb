// Loaded before Express's tests: every `http.createServer` (Express's app.listen, supertest's
// request(app)) becomes a server on ugn's engine in this process, serving through the node
// adapter instead of node:http. A node:http server that still listens fails loudly, so no test
// can pass on node:http by accident.
import http from 'node:http'

import { createServer } from '../../dist/index.js'

http.createServer = createServer
http.Server.prototype.listen = function () {
  throw new Error('a node:http server was started during the ugn compatibility run')
}
