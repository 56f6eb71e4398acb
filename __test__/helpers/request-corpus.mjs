// A generated corpus of raw HTTP/1.x requests, valid and invalid, for the differential test
// against node:http (llhttp): __test__/differential.spec.mjs. Each case is `{ name, bytes }`,
// bytes a latin1 string (one character per byte) sent as one write on a fresh connection.
// Names are unique and stable: the test's table of expected disagreements is keyed by them.

const HOST = 'Host: example.com\r\n'

/** A request from its parts: request line, header lines (each without its CRLF), body. */
function request(line, fields = ['Host: example.com'], body = '', eol = '\r\n') {
  return line + eol + fields.map((f) => f + eol).join('') + eol + body
}

/** A POST with a chunked body: `chunks` is the raw text after the head. */
function chunked(chunks, extra = []) {
  return `POST /upload HTTP/1.1\r\n${HOST}${extra.map((f) => f + '\r\n').join('')}Transfer-Encoding: chunked\r\n\r\n${chunks}`
}

/** A POST with the given framing header lines and raw body. */
function framed(fields, body) {
  return request('POST /upload HTTP/1.1', ['Host: example.com', ...fields], body)
}

function requestLines(add) {
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND', 'MKCOL', 'LOCK', 'UNLOCK', 'SEARCH', 'PURGE', 'REPORT', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'LINK', 'QUERY']
  for (const m of methods) add(`method ${m}`, request(`${m} /m HTTP/1.1`))
  const oddMethods = {
    'lower-case get': 'get',
    'mixed-case Get': 'Get',
    'extension token FOO': 'FOO',
    'extension token with tchars': 'X!#$%&\'*+-.^_`|~Y',
    'two letters': 'GE',
    'one letter': 'G',
    'long 21 letters': 'ABCDEFGHIJKLMNOPQRSTU',
    'with @': 'G@T',
    'with #': 'G#T',
    'with (': 'G(T',
    'with /': 'G/T',
    'with digit': 'GET2',
    'with high byte': 'G\xe9T',
    'with NUL': 'G\x00T',
    'with DEL': 'G\x7fT',
    'empty': '',
  }
  for (const [name, m] of Object.entries(oddMethods)) add(`method ${name}`, request(`${m} / HTTP/1.1`))

  const targets = {
    root: '/',
    'path and query': '/a/b?c=d&e=f',
    'empty query': '/a?',
    'query with ? and /': '/a?b?c/d',
    'percent-encoded': '/caf%C3%A9%20x',
    'bad percent-encoding': '/%zz%',
    'sub-delims and pchar': "/~!$&'()*+,;=:@-._",
    'double slash': '//double//slash',
    'dot segments': '/a/./b/../c',
    fragment: '/a#frag',
    'query and fragment': '/a?b=1#frag',
    'raw UTF-8': '/caf\xc3\xa9',
    'invalid UTF-8 byte': '/\xff',
    'lone continuation byte': '/\x80',
    'double quote': '/"q"',
    'angle brackets': '/<script>',
    braces: '/{x}',
    pipe: '/a|b',
    backslash: '/a\\b',
    caret: '/a^b',
    backtick: '/a`b',
    'square brackets in path': '/[x]',
    'DEL byte': '/a\x7fb',
    'control byte 0x01': '/a\x01b',
    'control byte 0x1f': '/a\x1fb',
    'NUL byte': '/a\x00b',
    tab: '/a\tb',
    'vertical tab': '/a\x0bb',
    'form feed': '/a\x0cb',
    'no leading slash': 'a/b',
    'query only': '?a=b',
    'absolute-form http': 'http://example.com/abs?x=1',
    'absolute-form https with port': 'https://example.com:8443/p',
    'absolute-form without path': 'http://example.com',
    'absolute-form with userinfo': 'http://user:pw@example.com/p',
    'absolute-form IPv6': 'http://[::1]:8080/p',
    'absolute-form unbalanced IPv6': 'http://[::1/p',
    'absolute-form other scheme': 'ftp://example.com/f',
    'absolute-form bad scheme': '1http://example.com/',
    'scheme without authority': 'http:/p',
    'urn-like': 'urn:isbn:123',
    asterisk: '*',
    'authority-form': 'example.com:443',
    'authority-form without port': 'example.com',
  }
  for (const [name, target] of Object.entries(targets)) add(`target ${name}`, request(`GET ${target} HTTP/1.1`))
  add('target asterisk with OPTIONS', request('OPTIONS * HTTP/1.1'))
  add('target asterisk with OPTIONS, absolute-form after it', request('OPTIONS *http://x HTTP/1.1'))
  add('target /* with OPTIONS', request('OPTIONS /* HTTP/1.1'))
  add('target absolute-form with OPTIONS', request('OPTIONS http://example.com/ HTTP/1.1'))
  add('target authority-form with CONNECT', request('CONNECT example.com:443 HTTP/1.1', ['Host: example.com:443']))
  add('target origin-form with CONNECT', request('CONNECT / HTTP/1.1'))
  add('target authority-form without port with CONNECT', request('CONNECT example.com HTTP/1.1', ['Host: example.com']))
  add('target authority-form with port 0 with CONNECT', request('CONNECT example.com:0 HTTP/1.1', ['Host: example.com:0']))
  add('target IPv6 authority-form with CONNECT', request('CONNECT [::1]:443 HTTP/1.1', ['Host: [::1]:443']))
  add('target 4000 bytes', request(`GET /${'t'.repeat(3999)} HTTP/1.1`))
  add('target request line of 4094 bytes', request(`GET /${'t'.repeat(4094 - 'GET / HTTP/1.1'.length)} HTTP/1.1`))
  add('target request line of 4095 bytes', request(`GET /${'t'.repeat(4095 - 'GET / HTTP/1.1'.length)} HTTP/1.1`))
  add('target 8000 bytes', request(`GET /${'t'.repeat(7999)} HTTP/1.1`))
  add('target 20000 bytes', request(`GET /${'t'.repeat(19999)} HTTP/1.1`))
  add('target 4000 bytes in the query', request(`GET /q?${'a=b&'.repeat(1000)} HTTP/1.1`))

  const versions = {
    'HTTP/1.0': 'HTTP/1.0',
    'HTTP/1.2': 'HTTP/1.2',
    'HTTP/1.9': 'HTTP/1.9',
    'HTTP/2.0': 'HTTP/2.0',
    'HTTP/3.0': 'HTTP/3.0',
    'HTTP/0.9': 'HTTP/0.9',
    'HTTP/1.10': 'HTTP/1.10',
    'HTTP/01.1': 'HTTP/01.1',
    'HTTP/1': 'HTTP/1',
    'HTTP/2': 'HTTP/2',
    'HTTP/': 'HTTP/',
    'HTTP/1.': 'HTTP/1.',
    'HTTP/a.b': 'HTTP/a.b',
    'lower-case http/1.1': 'http/1.1',
    'HTTPS/1.1': 'HTTPS/1.1',
    'HTTP /1.1': 'HTTP /1.1',
    'HTTP/1.1 with trailing space': 'HTTP/1.1 ',
    'HTTP/1.1 with trailing tab': 'HTTP/1.1\t',
    'ICE/1.1': 'ICE/1.1',
    'RTSP/1.0': 'RTSP/1.0',
  }
  for (const [name, v] of Object.entries(versions)) add(`version ${name}`, request(`GET /v ${v}`))
  add('version missing (HTTP/0.9 simple request)', 'GET /\r\n\r\n')
  add('version HTTP/1.0 without Host', request('GET / HTTP/1.0', []))
  add('version HTTP/1.2 POST with a chunked body', request('POST /v HTTP/1.2', ['Host: example.com', 'Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('version HTTP/1.0 keep-alive', request('GET / HTTP/1.0', ['Host: example.com', 'Connection: keep-alive']))
  add('version HTTP/1.0 POST with Content-Length', request('POST / HTTP/1.0', ['Content-Length: 3'], 'abc'))

  add('line two spaces after the method', request('GET  / HTTP/1.1'))
  add('line two spaces before the version', request('GET /  HTTP/1.1'))
  add('line tab separators', request('GET\t/\tHTTP/1.1'))
  add('line leading space', request(' GET / HTTP/1.1'))
  add('line leading tab', request('\tGET / HTTP/1.1'))
  add('line space inside the target', request('GET /a b HTTP/1.1'))
  add('line only a method', request('GET'))
  add('line method and target only', request('GET /'))
  add('line empty then headers', request('', ['Host: example.com']))
  add('line one leading CRLF', '\r\n' + request('GET / HTTP/1.1'))
  add('line two leading CRLFs', '\r\n\r\n' + request('GET / HTTP/1.1'))
  add('line leading bare LF', '\n' + request('GET / HTTP/1.1'))
  add('line leading space-only line', ' \r\n' + request('GET / HTTP/1.1'))
  add('line ended by a bare LF', 'GET / HTTP/1.1\n' + HOST + '\r\n')
  add('line ended by a bare CR', 'GET / HTTP/1.1\r' + HOST + '\r\n')
  add('line ended by CR CR LF', 'GET / HTTP/1.1\r\r\n' + HOST + '\r\n')
  add('line with NUL before the CRLF', request('GET / HTTP/1.1\x00'))
  add('line all bare LF', request('GET / HTTP/1.1', ['Host: example.com'], '', '\n'))
  add('line all bare CR', request('GET / HTTP/1.1', ['Host: example.com'], '', '\r'))
  add('line TLS ClientHello bytes', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + 'x'.repeat(32) + '\r\n\r\n')
  add('line HTTP/2 connection preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
}

function headerFields(add) {
  const get = (fields) => request('GET /h HTTP/1.1', ['Host: example.com', ...fields])
  const names = {
    'all tchars': "X-!#$%&'*+-.^`|~Z: v",
    digits: '123: v',
    'upper-case': 'X-UPPER: v',
    underscore: 'X_Under: v',
    'underscore only': '_: v',
    'space before colon': 'X-Sp : v',
    'tab before colon': 'X-Tab\t: v',
    'space inside': 'X Sp: v',
    'empty name': ': v',
    'no colon': 'NoColonHere',
    '@': 'X@Y: v',
    'double quote': 'X"Y: v',
    parenthesis: 'X(Y): v',
    slash: 'X/Y: v',
    'square bracket': 'X[Y]: v',
    '= sign': 'X=Y: v',
    'DEL byte': 'X\x7fY: v',
    'NUL byte': 'X\x00Y: v',
    'control byte': 'X\x01Y: v',
    'high byte': 'X-\xe9: v',
    '2000 bytes': `X-${'n'.repeat(1998)}: v`,
  }
  for (const [name, line] of Object.entries(names)) add(`name ${name}`, get([line]))
  add('name leading space on the first field line', request('GET / HTTP/1.1', [' X-First: v', 'Host: example.com']))
  add('name leading tab on the first field line', request('GET / HTTP/1.1', ['\tX-First: v', 'Host: example.com']))

  const values = {
    empty: 'X-E:',
    'empty after a space': 'X-E: ',
    'only spaces and tabs': 'X-E: \t \t',
    'no space after colon': 'X-V:v',
    'leading and trailing spaces': 'X-V:   v   ',
    'leading and trailing tabs': 'X-V:\t\tv\t\t',
    'internal spaces and tab': 'X-V: a  b\tc',
    'containing colons': 'X-V: a:b::c',
    'quoted string': 'X-V: "a, \\"b\\""',
    'comma list': 'X-V: a, b,,c ,',
    'obs-text high bytes': 'X-V: caf\xe9 \xff\x80',
    'UTF-8 bytes': 'X-V: caf\xc3\xa9',
    'NUL byte': 'X-V: a\x00b',
    'control byte 0x01': 'X-V: a\x01b',
    'control byte 0x1f': 'X-V: a\x1fb',
    'vertical tab': 'X-V: a\x0bb',
    'form feed': 'X-V: a\x0cb',
    'DEL byte': 'X-V: a\x7fb',
    'bare CR inside': 'X-V: a\rb',
    'bare CR at the end': 'X-V: ab\r',
    'ESC byte': 'X-V: \x1b[31m',
    '8000 bytes': `X-Big: ${'v'.repeat(8000)}`,
    'line of 8188 bytes': `X-Big: ${'v'.repeat(8188 - 'X-Big: '.length)}`,
    'line of 8190 bytes': `X-Big: ${'v'.repeat(8190 - 'X-Big: '.length)}`,
    'line of 8191 bytes': `X-Big: ${'v'.repeat(8191 - 'X-Big: '.length)}`,
    '12000 bytes': `X-Big: ${'v'.repeat(12000)}`,
    '17000 bytes': `X-Big: ${'v'.repeat(17000)}`,
  }
  for (const [name, line] of Object.entries(values)) add(`value ${name}`, get([line]))

  add('fold obs-fold with a space', get(['X-Fold: a', ' b']))
  add('fold obs-fold with a tab', get(['X-Fold: a', '\tb']))
  add('fold obs-fold of an empty value', get(['X-Fold:', ' b']))
  add('fold obs-fold line of only whitespace', get(['X-Fold: a', '  ']))
  add('fold obs-fold of Host', request('GET / HTTP/1.1', ['Host:', ' example.com']))
  add('fold obs-fold of Content-Length', framed(['Content-Length:', ' 3'], 'abc'))
  add('fold obs-fold of Transfer-Encoding', framed(['Transfer-Encoding: gzip,', ' chunked'], '0\r\n\r\n'))

  add('line header ended by a bare LF', 'GET / HTTP/1.1\r\n' + 'X-LF: v\n' + HOST + '\r\n')
  add('line header ended by a bare CR', 'GET / HTTP/1.1\r\n' + 'X-CR: v\r' + HOST + '\r\n')
  add('line head ended by a bare LF', 'GET / HTTP/1.1\r\n' + HOST + '\n')
  add('line head ended by LF CR LF', 'GET / HTTP/1.1\r\n' + HOST + '\n\r\n')
  add('line head ended by CR CR LF', 'GET / HTTP/1.1\r\n' + HOST + '\r\r\n')
  add('line head ended by CR CR', 'GET / HTTP/1.1\r\n' + HOST + '\r\r')

  add('dup same header twice', get(['X-Dup: a', 'X-Dup: b']))
  add('dup same header in different case', get(['X-Dup: a', 'x-dup: b']))
  add('dup empty then value', get(['X-Dup:', 'X-Dup: b']))
  add('dup Cookie twice', get(['Cookie: a=1', 'Cookie: b=2']))
  add('dup Accept three times', get(['Accept: a', 'Accept: b', 'Accept: c']))
  add('dup Content-Type twice', get(['Content-Type: text/plain', 'Content-Type: text/html']))
  add('dup Set-Cookie twice', get(['Set-Cookie: a=1', 'Set-Cookie: b=2']))
  add('dup Authorization twice', get(['Authorization: a', 'Authorization: b']))
  add('dup Connection twice', get(['Connection: keep-alive', 'Connection: te']))
  add('dup User-Agent twice', get(['User-Agent: a', 'User-Agent: b']))

  add('host missing in HTTP/1.1', request('GET / HTTP/1.1', []))
  add('host missing with absolute-form', request('GET http://example.com/ HTTP/1.1', []))
  add('host empty', request('GET / HTTP/1.1', ['Host:']))
  add('host twice, same value', request('GET / HTTP/1.1', ['Host: example.com', 'Host: example.com']))
  add('host twice, different values', request('GET / HTTP/1.1', ['Host: a.example', 'Host: b.example']))
  add('host twice in HTTP/1.0', request('GET / HTTP/1.0', ['Host: a.example', 'Host: b.example']))
  add('host with port', request('GET / HTTP/1.1', ['Host: example.com:8080']))
  add('host IPv6 literal', request('GET / HTTP/1.1', ['Host: [::1]:8080']))
  add('host with userinfo', request('GET / HTTP/1.1', ['Host: user@example.com']))
  add('host with a path', request('GET / HTTP/1.1', ['Host: example.com/path']))
  add('host with a space inside', request('GET / HTTP/1.1', ['Host: exa mple.com']))
  add('host with a comma list', request('GET / HTTP/1.1', ['Host: a.example, b.example']))
  add('host not matching the absolute-form', request('GET http://a.example/ HTTP/1.1', ['Host: b.example']))
  add('host with a bad port', request('GET / HTTP/1.1', ['Host: example.com:abc']))
  add('host IPv4 with port', request('GET / HTTP/1.1', ['Host: 127.0.0.1:8080']))
  add('host IPv6 literal without port', request('GET / HTTP/1.1', ['Host: [::1]']))
  add('host unbalanced IPv6 literal', request('GET / HTTP/1.1', ['Host: [::1']))
  add('host empty with absolute-form', request('GET http://example.com/ HTTP/1.1', ['Host:']))

  add('count 100 header fields', get(Array.from({ length: 99 }, (_, i) => `X-H${i}: v`)))
  add('count 101 header fields', get(Array.from({ length: 100 }, (_, i) => `X-H${i}: v`)))
  add('count 500 header fields', get(Array.from({ length: 499 }, (_, i) => `X-H${i}: v`)))
  add('count 60 fields of 300 bytes', get(Array.from({ length: 60 }, (_, i) => `X-H${i}: ${'v'.repeat(300)}`)))

  add('misc Expect 100-continue', framed(['Expect: 100-continue', 'Content-Length: 3'], 'abc'))
  add('misc Expect upper-case 100-Continue', framed(['Expect: 100-Continue', 'Content-Length: 3'], 'abc'))
  add('misc Expect unknown', framed(['Expect: something-else', 'Content-Length: 3'], 'abc'))
  add('misc Connection close', get(['Connection: close']))
  add('misc Connection with many tokens', get(['Connection: keep-alive, x-foo, te', 'X-Foo: 1', 'TE: trailers']))
  add('misc Upgrade without Connection upgrade', get(['Upgrade: websocket']))
  add('misc Trailer field announced', framed(['Trailer: X-T', 'Content-Length: 0'], ''))
  add('misc Range', get(['Range: bytes=0-1']))
  add('misc Forwarded headers', get(['X-Forwarded-For: 10.0.0.1, 10.0.0.2', 'Forwarded: for=10.0.0.1;proto=https']))
  add('misc Content-Type on a GET', get(['Content-Type: application/json']))
  add('misc Proxy-Connection', get(['Proxy-Connection: keep-alive']))
}

function framing(add) {
  add('cl zero', framed(['Content-Length: 0'], ''))
  add('cl 3 with body', framed(['Content-Length: 3'], 'abc'))
  add('cl body with CRLF and NUL bytes', framed(['Content-Length: 6'], 'a\r\n\x00\xffz'))
  add('cl leading zeros', framed(['Content-Length: 003'], 'abc'))
  add('cl plus sign', framed(['Content-Length: +3'], 'abc'))
  add('cl negative', framed(['Content-Length: -3'], 'abc'))
  add('cl hexadecimal', framed(['Content-Length: 0x3'], 'abc'))
  add('cl with a letter after', framed(['Content-Length: 3a'], 'abc'))
  add('cl decimal point', framed(['Content-Length: 3.0'], 'abc'))
  add('cl with spaces around', framed(['Content-Length:   3   '], 'abc'))
  add('cl with a tab before', framed(['Content-Length:\t3'], 'abc'))
  add('cl with a space inside', framed(['Content-Length: 1 0'], 'abcdefghij'))
  add('cl empty', framed(['Content-Length:'], ''))
  add('cl list of equal values', framed(['Content-Length: 3, 3'], 'abc'))
  add('cl list of different values', framed(['Content-Length: 3, 4'], 'abcd'))
  add('cl twice, equal values', framed(['Content-Length: 3', 'Content-Length: 3'], 'abc'))
  add('cl twice, different values', framed(['Content-Length: 3', 'Content-Length: 4'], 'abcd'))
  add('cl overflowing 64 bits', framed(['Content-Length: 99999999999999999999999'], 'abc'))
  add('cl 2^53', framed(['Content-Length: 9007199254740992'], 'abc'))
  add('cl on a GET', request('GET /g HTTP/1.1', ['Host: example.com', 'Content-Length: 3'], 'abc'))
  add('cl on a HEAD', request('HEAD /h HTTP/1.1', ['Host: example.com', 'Content-Length: 3'], 'abc'))
  add('cl body longer than announced, then a request', framed(['Content-Length: 3'], `abcGET /second HTTP/1.1\r\n${HOST}\r\n`))
  add('none POST without framing headers', framed([], ''))
  add('none POST without framing, bytes after the head', framed([], `GET /second HTTP/1.1\r\n${HOST}\r\n`))

  add('te chunked', chunked('3\r\nabc\r\n0\r\n\r\n'))
  add('te chunked, several chunks', chunked('1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n'))
  add('te chunked, empty body', chunked('0\r\n\r\n'))
  add('te Chunked capitalised', framed(['Transfer-Encoding: Chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te CHUNKED upper-case', framed(['Transfer-Encoding: CHUNKED'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te chunked with trailing space', framed(['Transfer-Encoding: chunked   '], '3\r\nabc\r\n0\r\n\r\n'))
  add('te chunked with leading tab', framed(['Transfer-Encoding:\tchunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te chunked twice in one list', framed(['Transfer-Encoding: chunked, chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te chunked in two fields', framed(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te gzip, chunked', framed(['Transfer-Encoding: gzip, chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te gzip then chunked in two fields', framed(['Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te chunked, gzip', framed(['Transfer-Encoding: chunked, gzip'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te gzip alone', framed(['Transfer-Encoding: gzip'], 'abc'))
  add('te identity alone', framed(['Transfer-Encoding: identity'], ''))
  add('te identity, chunked', framed(['Transfer-Encoding: identity, chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te unknown coding, chunked', framed(['Transfer-Encoding: x-foo, chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te chunkedx', framed(['Transfer-Encoding: chunkedx'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te x-chunked', framed(['Transfer-Encoding: x-chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te quoted "chunked"', framed(['Transfer-Encoding: "chunked"'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te chunked with a parameter', framed(['Transfer-Encoding: chunked;q=1'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te empty value', framed(['Transfer-Encoding:'], ''))
  add('te empty list members', framed(['Transfer-Encoding: , chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te empty list member after chunked', framed(['Transfer-Encoding: chunked ,'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te with a vertical tab', framed(['Transfer-Encoding:\x0bchunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te name with a space before the colon', framed(['Transfer-Encoding : chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te in HTTP/1.0', request('POST / HTTP/1.0', ['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te on a GET', request('GET /g HTTP/1.1', ['Host: example.com', 'Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n'))
  add('te and cl, cl first', framed(['Content-Length: 3', 'Transfer-Encoding: chunked'], '0\r\n\r\n'))
  add('te and cl, te first', framed(['Transfer-Encoding: chunked', 'Content-Length: 3'], '0\r\n\r\n'))
  add('te and cl 0, smuggled request after', framed(['Content-Length: 0', 'Transfer-Encoding: chunked'], `0\r\n\r\nGET /smuggled HTTP/1.1\r\n${HOST}\r\n`))
  add('te gzip and cl', framed(['Transfer-Encoding: gzip', 'Content-Length: 3'], 'abc'))
  add('te identity and cl', framed(['Transfer-Encoding: identity', 'Content-Length: 3'], 'abc'))

  add('chunk size with leading zeros', chunked('0003\r\nabc\r\n0\r\n\r\n'))
  add('chunk size upper-case hex', chunked('A\r\n0123456789\r\n0\r\n\r\n'))
  add('chunk size lower-case hex', chunked('a\r\n0123456789\r\n0\r\n\r\n'))
  add('chunk size with 0x prefix', chunked('0x3\r\nabc\r\n0\r\n\r\n'))
  add('chunk size negative', chunked('-3\r\nabc\r\n0\r\n\r\n'))
  add('chunk size plus sign', chunked('+3\r\nabc\r\n0\r\n\r\n'))
  add('chunk size non-hex', chunked('zz\r\nabc\r\n0\r\n\r\n'))
  add('chunk size empty', chunked('\r\nabc\r\n0\r\n\r\n'))
  add('chunk size overflowing 64 bits', chunked('fffffffffffffffffffff\r\nabc\r\n0\r\n\r\n'))
  add('chunk size 16 hex digits', chunked('0000000000000003\r\nabc\r\n0\r\n\r\n'))
  add('chunk size 17 hex digits', chunked('00000000000000003\r\nabc\r\n0\r\n\r\n'))
  add('chunk size with trailing space', chunked('3 \r\nabc\r\n0\r\n\r\n'))
  add('chunk size with trailing tab', chunked('3\t\r\nabc\r\n0\r\n\r\n'))
  add('chunk size with leading space', chunked(' 3\r\nabc\r\n0\r\n\r\n'))
  add('chunk size with a space inside', chunked('1 0\r\n0123456789abcdef\r\n0\r\n\r\n'))
  add('chunk size line ended by a bare LF', chunked('3\nabc\r\n0\r\n\r\n'))
  add('chunk size line ended by a bare CR', chunked('3\rabc\r\n0\r\n\r\n'))
  add('chunk data ended by a bare LF', chunked('3\r\nabc\n0\r\n\r\n'))
  add('chunk data not followed by CRLF', chunked('3\r\nabcX\r\n0\r\n\r\n'))
  add('chunk data longer than its size', chunked('3\r\nabcdef\r\n0\r\n\r\n'))
  add('chunk data with CRLF inside', chunked('5\r\na\r\nbc\r\n0\r\n\r\n'))
  add('chunk last-chunk line ended by a bare LF', chunked('3\r\nabc\r\n0\n\r\n'))
  add('chunk final CRLF replaced by a bare LF', chunked('3\r\nabc\r\n0\r\n\n'))
  add('chunk last-chunk 000', chunked('3\r\nabc\r\n000\r\n\r\n'))

  add('ext name only', chunked('3;foo\r\nabc\r\n0\r\n\r\n'))
  add('ext name=token', chunked('3;foo=bar\r\nabc\r\n0\r\n\r\n'))
  add('ext name="quoted"', chunked('3;foo="b a;r"\r\nabc\r\n0\r\n\r\n'))
  add('ext quoted with escaped quote', chunked('3;foo="a\\"b"\r\nabc\r\n0\r\n\r\n'))
  add('ext several', chunked('3;a=1;b=2;c\r\nabc\r\n0\r\n\r\n'))
  add('ext with spaces around ;', chunked('3 ; foo=bar\r\nabc\r\n0\r\n\r\n'))
  add('ext with spaces around =', chunked('3;foo = bar\r\nabc\r\n0\r\n\r\n'))
  add('ext empty after ;', chunked('3;\r\nabc\r\n0\r\n\r\n'))
  add('ext empty name', chunked('3;=bar\r\nabc\r\n0\r\n\r\n'))
  add('ext empty value', chunked('3;foo=\r\nabc\r\n0\r\n\r\n'))
  add('ext non-token name', chunked('3;f@o=bar\r\nabc\r\n0\r\n\r\n'))
  add('ext non-token value', chunked('3;foo=b@r\r\nabc\r\n0\r\n\r\n'))
  add('ext unterminated quote', chunked('3;foo="bar\r\nabc\r\n0\r\n\r\n'))
  add('ext control byte', chunked('3;foo\x01\r\nabc\r\n0\r\n\r\n'))
  add('ext NUL byte', chunked('3;foo=\x00\r\nabc\r\n0\r\n\r\n'))
  add('ext high byte', chunked('3;foo=\xe9\r\nabc\r\n0\r\n\r\n'))
  add('ext bare CR inside', chunked('3;foo\rbar\r\nabc\r\n0\r\n\r\n'))
  add('ext on the last chunk', chunked('3\r\nabc\r\n0;done=1\r\n\r\n'))
  add('ext 2000 bytes', chunked(`3;x=${'e'.repeat(2000)}\r\nabc\r\n0\r\n\r\n`))

  add('trailer one field', chunked('3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n'))
  add('trailer two fields', chunked('3\r\nabc\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n'))
  add('trailer empty value', chunked('3\r\nabc\r\n0\r\nX-E:\r\n\r\n'))
  add('trailer repeated name', chunked('3\r\nabc\r\n0\r\nX-R: 1\r\nX-R: 2\r\n\r\n'))
  add('trailer Content-Length', chunked('3\r\nabc\r\n0\r\nContent-Length: 3\r\n\r\n'))
  add('trailer Host', chunked('3\r\nabc\r\n0\r\nHost: other.example\r\n\r\n'))
  add('trailer announced by Trailer', chunked('3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n', ['Trailer: X-T']))
  add('trailer space before colon', chunked('3\r\nabc\r\n0\r\nX-T : 1\r\n\r\n'))
  add('trailer without colon', chunked('3\r\nabc\r\n0\r\nX-T\r\n\r\n'))
  add('trailer obs-fold', chunked('3\r\nabc\r\n0\r\nX-T: a\r\n b\r\n\r\n'))
  add('trailer control byte in value', chunked('3\r\nabc\r\n0\r\nX-T: a\x01b\r\n\r\n'))
  add('trailer non-token name', chunked('3\r\nabc\r\n0\r\nX@T: 1\r\n\r\n'))
  add('trailer line ended by a bare LF', chunked('3\r\nabc\r\n0\r\nX-T: 1\n\r\n'))
  add('trailer underscore name', chunked('3\r\nabc\r\n0\r\nX_T: 1\r\n\r\n'))
  add('trailer 9000 bytes', chunked(`3\r\nabc\r\n0\r\nX-T: ${'t'.repeat(9000)}\r\n\r\n`))
}

function pipelines(add) {
  const get = (path) => `GET ${path} HTTP/1.1\r\n${HOST}\r\n`
  add('pipe two GETs', get('/one') + get('/two'))
  add('pipe three GETs', get('/one') + get('/two') + get('/three'))
  add('pipe POST with body then GET', framed(['Content-Length: 3'], 'abc') + get('/two'))
  add('pipe chunked POST then GET', chunked('3\r\nabc\r\n0\r\n\r\n') + get('/two'))
  add('pipe GET then an invalid request', get('/one') + 'G@T / HTTP/1.1\r\n\r\n')
  add('pipe GET then a bare-LF request', get('/one') + 'GET /two HTTP/1.1\nHost: example.com\n\n')
  add('pipe GET then CRLF then GET', get('/one') + '\r\n' + get('/two'))
  add('pipe GET then HTTP/1.0 GET', get('/one') + `GET /two HTTP/1.0\r\n${HOST}\r\n`)
  add('pipe Connection close then GET', request('GET /one HTTP/1.1', ['Host: example.com', 'Connection: close']) + get('/two'))
  add('pipe HTTP/1.0 then GET', request('GET /one HTTP/1.0', ['Host: example.com']) + get('/two'))
  add('pipe chunked with trailer then GET', chunked('1\r\na\r\n0\r\nX-T: t\r\n\r\n') + get('/two'))
}

/** One byte in each place where the grammar has a character class: every control byte, space,
 * every ASCII punctuation character and a few obs-text bytes, in the method, the target, a
 * field name and a field value. */
function byteSweeps(add) {
  const bytes = []
  for (let b = 0; b <= 0x20; b++) bytes.push(b)
  for (let b = 0x21; b < 0x7f; b++) if (!/[0-9A-Za-z]/.test(String.fromCharCode(b))) bytes.push(b)
  bytes.push(0x7f, 0x80, 0xa0, 0xff)
  const hex = (b) => `0x${b.toString(16).padStart(2, '0')}`
  for (const b of bytes) {
    const c = String.fromCharCode(b)
    add(`sweep target byte ${hex(b)}`, request(`GET /x${c}y HTTP/1.1`))
    add(`sweep field-name byte ${hex(b)}`, request('GET / HTTP/1.1', ['Host: example.com', `X-N${c}N: v`]))
    add(`sweep field-value byte ${hex(b)}`, request('GET / HTTP/1.1', ['Host: example.com', `X-V: a${c}b`]))
  }
  for (const b of [0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2a, 0x2b, 0x2d, 0x2e, 0x5e, 0x5f, 0x60, 0x7c, 0x7e, 0x3a, 0x40, 0x2f]) {
    add(`sweep method byte ${hex(b)}`, request(`PO${String.fromCharCode(b)}ST / HTTP/1.1`))
  }
}

/** The whole corpus: about 700 requests. */
export function requestCorpus() {
  const cases = []
  const seen = new Set()
  const add = (name, bytes) => {
    if (seen.has(name)) throw new Error(`duplicate case name ${name}`)
    seen.add(name)
    cases.push({ name, bytes })
  }
  requestLines(add)
  headerFields(add)
  framing(add)
  pipelines(add)
  byteSweeps(add)
  return cases
}
