// Answers what a worker sees of systemd's activation variables: none should reach it.
export function app(environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']])
  return `LISTEN_FDS=${process.env.LISTEN_FDS ?? 'unset'} LISTEN_PID=${process.env.LISTEN_PID ?? 'unset'}`
}
