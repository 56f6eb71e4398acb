// A fetch app reporting the URL it was given, whose scheme comes from the connection.
export default {
  fetch(request) {
    return Response.json({ url: request.url })
  },
}
