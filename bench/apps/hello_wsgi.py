# The scenarios' hello worlds as WSGI apps, one per scenario app (bench/scenarios.mjs), served
# by Gunicorn (gthread) and by Granian (--interface wsgi): `hello_wsgi:json`.
import json as _json

_TEXT = "text/plain"
_HELLO = b"Hello, World!"
_BLOB = b"x" * 65536


def plaintext(environ, start_response):
    start_response("200 OK", [("Content-Type", _TEXT), ("Content-Length", "13")])
    return [_HELLO]


def json(environ, start_response):
    body = _json.dumps({"message": "Hello, World!"}, separators=(",", ":")).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def bytes64k(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", "65536")])
    return [_BLOB]


def upload(environ, start_response):
    stream = environ["wsgi.input"]
    n = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        n += len(chunk)
    body = str(n).encode()
    start_response("200 OK", [("Content-Type", _TEXT), ("Content-Length", str(len(body)))])
    return [body]
