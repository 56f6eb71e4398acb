// A bare fetch handler function.
export const app = (request) => new Response(`fetch handler saw ${new URL(request.url).pathname}`)
