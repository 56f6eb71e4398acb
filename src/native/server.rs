//! Glue between one worker's [`ugn_server::Server`] and its JavaScript thread.
//!
//! The server's poller fd is watched by one `uv_poll` handle on Node's own loop. When it is
//! readable, [`run_batch`] handles every ready socket and calls JavaScript directly, once per
//! request, inside one callback scope per round, so promise jobs and `process.nextTick` run as
//! they would after any Node callback. Responses produced during the batch are flushed together
//! at its end; a response produced later (an async handler) is written at once.
//!
//! Request metadata crosses in a shared `Int32Array` (`reqMeta`, written here, read by JS) and
//! response header lengths in another (`resMeta`, written by JS, read here), so each crossing
//! carries one string plus integers instead of an object built property by property.

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::ptr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use napi::sys;
use ugn_http::{AllowList, HeaderMap, Limits, ProxyProtocol};
use ugn_server::{
    tls_config, ConnId, EventKind, Http2Settings, RespondError, Server, ServerConfig, TlsSettings,
    WriteStatus,
};

use crate::raw::{self, Env, Ref, Value};
use crate::tls::tls_settings;
use crate::uv::{self, UvHandle};

/// Event codes passed to the JavaScript `onEvent(kind, id, chunk)` callback.
const EV_BODY: i32 = 1;
const EV_BODY_END: i32 = 2;
const EV_BODY_ERROR: i32 = 3;
const EV_DRAIN: i32 = 4;
const EV_CLOSED: i32 = 5;

/// `reqMeta` layout: fixed slots, then per header its name's and value's offsets and its name's
/// id (see [`HeaderNames`]).
const M_ID: usize = 0;
const M_FLAGS: usize = 1;
const M_LISTENER: usize = 2;
const M_PEER_PORT: usize = 3;
const M_METHOD: usize = 4;
const M_TARGET: usize = 6;
const M_PATH: usize = 8;
const M_QUERY: usize = 10;
const M_PEER: usize = 12;
const M_HEADER_COUNT: usize = 14;
const M_HEADERS: usize = 15;
const M_PER_HEADER: usize = 5;

const F_KEEP_ALIVE: i32 = 1;
const F_BODY_COMPLETE: i32 = 2;
const F_EXPECT_CONTINUE: i32 = 4;
const F_UPGRADE: i32 = 8;
const F_HAS_BODY: i32 = 16;
const F_HTTPS: i32 = 32;
const F_TLS: i32 = 64;
const F_HTTP2: i32 = 128;

/// Rounds of poll-and-dispatch per libuv callback before yielding to the rest of the loop.
const MAX_ROUNDS: usize = 16;

/// `options` Int32Array layout for `serverStart`.
const O_KEEP_ALIVE_MS: usize = 0;
const O_MAX_CONNECTIONS: usize = 1;
const O_LIMIT_REQUEST_LINE: usize = 2;
const O_LIMIT_REQUEST_FIELDS: usize = 3;
const O_LIMIT_REQUEST_FIELD_SIZE: usize = 4;
/// 0 off, 1 v1, 2 v2, 3 auto: the index in `proxy_protocol`'s choices.
const O_PROXY_PROTOCOL: usize = 5;
const O_HEADER_TIMEOUT_MS: usize = 6;
const O_BODY_TIMEOUT_MS: usize = 7;
/// `limit_request_body` in two 32-bit halves, as it may pass 2 GiB.
const O_MAX_BODY_LOW: usize = 8;
const O_MAX_BODY_HIGH: usize = 9;
/// `header_map`: 0 drop, 1 refuse, 2 dangerous.
const O_HEADER_MAP: usize = 10;
const O_PERMIT_UNCONVENTIONAL_METHOD: usize = 11;
/// `http_protocols`: 1 h1, 2 h2, 4 h2 preferred.
const O_HTTP_PROTOCOLS: usize = 12;
const O_HTTP2_CLEARTEXT: usize = 13;
const O_HTTP2_MAX_CONCURRENT_STREAMS: usize = 14;
const O_HTTP2_INITIAL_WINDOW_SIZE: usize = 15;
const O_HTTP2_MAX_FRAME_SIZE: usize = 16;
const O_HTTP2_MAX_HEADER_LIST_SIZE: usize = 17;
const O_LEN: usize = 18;

struct Glue {
    env: Env,
    on_request: Ref,
    on_event: Ref,
    req_meta: *mut i32,
    req_meta_len: usize,
    res_meta: *const i32,
    res_meta_len: usize,
    _keep: Vec<Ref>,
    resource: Ref,
    context: sys::napi_async_context,
    _poll: UvHandle,
    _timer: UvHandle,
    idle: UvHandle,
    idle_on: Cell<bool>,
    in_batch: Cell<bool>,
    units: RefCell<Vec<u16>>,
    bytes: RefCell<Vec<u8>>,
    body: RefCell<Vec<u8>>,
}

thread_local! {
  static SERVER: RefCell<Option<Server>> = const { RefCell::new(None) };
  static GLUE: RefCell<Option<Rc<Glue>>> = const { RefCell::new(None) };
  static HEADER_NAMES: RefCell<HeaderNames> = RefCell::new(HeaderNames::default());
}

/// A small number for each header name seen on this thread (as spelled), which JavaScript
/// (`src/bridge/environ.ts`) uses as an index into its environ keys: slicing each name out of
/// the head and hashing it for a Map took a tenth of the worker's time with a browser's dozen
/// headers. Ids live as long as the thread, as the keys do in its JavaScript realm.
#[derive(Default)]
struct HeaderNames {
    ids: HashMap<Box<[u8]>, i32>,
    names: Vec<Box<[u8]>>,
    /// The id of the name last seen at each position: clients send their headers in the same
    /// order on every request, so most names are found by one comparison.
    last: Vec<i32>,
}

impl HeaderNames {
    /// Names beyond this many, or longer than `MAX_LEN`, get no id (-1), so that a client
    /// inventing names holds at most 128 KiB here; JavaScript then takes the name from the head.
    const MAX: usize = 1024;
    const MAX_LEN: usize = 64;

    fn id(&mut self, position: usize, name: &[u8]) -> i32 {
        if let Some(&id) = self.last.get(position) {
            if *self.names[id as usize] == *name {
                return id;
            }
        }
        let id = match self.ids.get(name) {
            Some(&id) => id,
            None if self.names.len() < Self::MAX && name.len() <= Self::MAX_LEN => {
                let id = self.names.len() as i32;
                self.names.push(name.into());
                self.ids.insert(name.into(), id);
                id
            }
            None => return -1,
        };
        if position < self.last.len() {
            self.last[position] = id;
        } else if position == self.last.len() {
            self.last.push(id);
        }
        id
    }
}

fn with_server<R>(f: impl FnOnce(&mut Server) -> R) -> Option<R> {
    SERVER.with(|cell| cell.borrow_mut().as_mut().map(f))
}

fn glue() -> Option<Rc<Glue>> {
    GLUE.with(|g| g.borrow().clone())
}

pub unsafe fn register(env: Env, exports: Value) -> Result<(), String> {
    raw::set_function(env, exports, "serverStart", server_start)?;
    raw::set_function(env, exports, "serverStop", server_stop)?;
    raw::set_function(env, exports, "serverAddListener", server_add_listener)?;
    raw::set_function(env, exports, "serverRemoveListener", server_remove_listener)?;
    raw::set_function(env, exports, "serverShutdown", server_shutdown)?;
    raw::set_function(env, exports, "serverConnections", server_connections)?;
    raw::set_function(env, exports, "respond", respond)?;
    raw::set_function(env, exports, "write", write)?;
    raw::set_function(env, exports, "end", end)?;
    raw::set_function(env, exports, "abort", abort)?;
    raw::set_function(env, exports, "pauseBody", pause_body)?;
    raw::set_function(env, exports, "detach", detach)?;
    raw::set_function(env, exports, "inform", inform)?;
    Ok(())
}

/// `serverStart(fds, options, serverHeader, reqMeta, resMeta, onRequest, onEvent,
/// forwardedAllowIps, secureSchemeHeaders, proxyAllowIps, certfile, keyfile, caCerts, certReqs,
/// ciphers)`: the allow lists as the settings take them (comma-separated), the scheme headers as
/// `NAME=VALUE` lines, the TLS settings as `checkTls` takes them (an empty certfile: no TLS).
unsafe extern "C" fn server_start(env: Env, info: sys::napi_callback_info) -> Value {
    let [fds, options, server_header, req_meta, res_meta, on_request, on_event, forwarded_allow, secure_headers, proxy_allow, certfile, keyfile, ca_certs, cert_reqs, ciphers] =
        raw::args::<15>(env, info);
    if glue().is_some() {
        return raw::throw(env, "the server is already running in this thread");
    }
    let Some(fds) = raw::i32s_of(env, fds) else {
        return raw::throw(env, "fds must be an Int32Array");
    };
    let Some(opts) = raw::i32s_of(env, options).filter(|o| o.len() >= O_LEN) else {
        return raw::throw(
            env,
            "options must be an Int32Array of the documented layout",
        );
    };
    let (Some(req), Some(res)) = (raw::i32s_of(env, req_meta), raw::i32s_of(env, res_meta)) else {
        return raw::throw(env, "reqMeta and resMeta must be Int32Arrays");
    };
    let mut header = Vec::new();
    raw::append_utf8(env, server_header, &mut header);

    let limits = Limits {
        max_request_line: opts[O_LIMIT_REQUEST_LINE].max(0) as usize,
        max_headers: opts[O_LIMIT_REQUEST_FIELDS].max(0) as usize,
        max_header_field_size: opts[O_LIMIT_REQUEST_FIELD_SIZE].max(0) as usize,
        header_map: match opts[O_HEADER_MAP] {
            1 => HeaderMap::Refuse,
            2 => HeaderMap::Dangerous,
            _ => HeaderMap::Drop,
        },
        permit_unconventional_http_method: opts[O_PERMIT_UNCONVENTIONAL_METHOD] != 0,
        ..Limits::default()
    };
    if M_HEADERS + M_PER_HEADER * limits.max_headers > req.len() {
        return raw::throw(env, "reqMeta is too short for limit_request_fields");
    }
    let proxy_protocol = match opts[O_PROXY_PROTOCOL] {
        0 => None,
        1 => Some(ProxyProtocol::V1),
        2 => Some(ProxyProtocol::V2),
        3 => Some(ProxyProtocol::Auto),
        other => return raw::throw(env, &format!("unknown proxy_protocol mode {other}")),
    };
    let text = |value: Value| {
        let mut bytes = Vec::new();
        raw::append_utf8(env, value, &mut bytes);
        String::from_utf8(bytes).unwrap_or_default()
    };
    let (forwarded_allow_ips, proxy_allow_ips) = match (
        AllowList::parse(&text(forwarded_allow)),
        AllowList::parse(&text(proxy_allow)),
    ) {
        (Ok(f), Ok(p)) => (f, p),
        (Err(e), _) | (_, Err(e)) => return raw::throw(env, &e),
    };
    let secure_scheme_headers = text(secure_headers)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.as_bytes().to_vec(), value.as_bytes().to_vec()))
        .collect();
    let protocols = opts[O_HTTP_PROTOCOLS];
    let (http1, h2) = (protocols & 1 != 0, protocols & 2 != 0);
    let http2 = h2.then(|| Http2Settings {
        cleartext: opts[O_HTTP2_CLEARTEXT] != 0,
        max_concurrent_streams: opts[O_HTTP2_MAX_CONCURRENT_STREAMS].max(1) as u32,
        initial_window_size: opts[O_HTTP2_INITIAL_WINDOW_SIZE].max(1) as u32,
        max_frame_size: opts[O_HTTP2_MAX_FRAME_SIZE].max(16_384) as u32,
        max_header_list_size: opts[O_HTTP2_MAX_HEADER_LIST_SIZE].max(1) as u32,
    });
    let mut alpn = Vec::new();
    if http1 {
        alpn.push(b"http/1.1".to_vec());
    }
    if h2 {
        let at = if protocols & 4 != 0 { 0 } else { alpn.len() };
        alpn.insert(at, b"h2".to_vec());
    }
    let tls = match tls_settings(
        &text(certfile),
        &text(keyfile),
        &text(ca_certs),
        raw::to_u32(env, cert_reqs),
        &text(ciphers),
    ) {
        None => None,
        Some(settings) => match tls_config(&TlsSettings { alpn, ..settings }) {
            Ok(config) => Some(config),
            Err(e) => return raw::throw(env, &e.to_string()),
        },
    };
    let config = ServerConfig {
        keep_alive: Duration::from_millis(opts[O_KEEP_ALIVE_MS].max(0) as u64),
        header_timeout: Duration::from_millis(opts[O_HEADER_TIMEOUT_MS].max(1) as u64),
        body_timeout: Duration::from_millis(opts[O_BODY_TIMEOUT_MS].max(1) as u64),
        max_body: (opts[O_MAX_BODY_HIGH] as u32 as u64) << 32 | opts[O_MAX_BODY_LOW] as u32 as u64,
        max_connections: opts[O_MAX_CONNECTIONS].max(1) as usize,
        limits,
        server_header: header,
        forwarded_allow_ips,
        secure_scheme_headers,
        proxy_protocol,
        proxy_allow_ips,
        tls,
        http2,
        http1: http1 || !h2,
        ..ServerConfig::default()
    };
    let server = match Server::from_listener_fds(fds, config) {
        Ok(server) => server,
        Err(e) => return raw::throw(env, &format!("cannot serve the inherited sockets: {e}")),
    };

    let mut lp = ptr::null_mut();
    sys::napi_get_uv_event_loop(env, &mut lp);
    let lp = lp as *mut uv::Loop;
    let handles = (|| -> Result<_, String> {
        Ok((
            UvHandle::poll(lp, server.poll_fd(), on_readable)?,
            UvHandle::interval(lp, 250, on_tick)?,
            UvHandle::idle(lp)?,
        ))
    })();
    let (poll, timer, idle) = match handles {
        Ok(h) => h,
        Err(e) => {
            return raw::throw(
                env,
                &format!("cannot watch the server on the event loop: {e}"),
            )
        }
    };

    let mut resource = ptr::null_mut();
    sys::napi_create_object(env, &mut resource);
    let name = raw::latin1(env, b"ugn.request");
    let mut context = ptr::null_mut();
    sys::napi_async_init(env, resource, name, &mut context);

    let glue = Glue {
        env,
        on_request: Ref::new(env, on_request),
        on_event: Ref::new(env, on_event),
        req_meta: req.as_mut_ptr(),
        req_meta_len: req.len(),
        res_meta: res.as_ptr(),
        res_meta_len: res.len(),
        _keep: vec![Ref::new(env, req_meta), Ref::new(env, res_meta)],
        resource: Ref::new(env, resource),
        context,
        _poll: poll,
        _timer: timer,
        idle,
        idle_on: Cell::new(false),
        in_batch: Cell::new(false),
        units: RefCell::new(Vec::with_capacity(1024)),
        bytes: RefCell::new(Vec::with_capacity(1024)),
        body: RefCell::new(Vec::with_capacity(1024)),
    };
    SERVER.with(|cell| *cell.borrow_mut() = Some(server));
    GLUE.with(|g| *g.borrow_mut() = Some(Rc::new(glue)));
    raw::undefined(env)
}

/// Closes every connection and releases the loop handles, so the process can exit.
unsafe extern "C" fn server_stop(env: Env, _info: sys::napi_callback_info) -> Value {
    if let Some(mut server) = SERVER.with(|cell| cell.borrow_mut().take()) {
        server.close_all();
    }
    GLUE.with(|g| g.borrow_mut().take());
    raw::undefined(env)
}

unsafe extern "C" fn server_add_listener(env: Env, info: sys::napi_callback_info) -> Value {
    let [fd] = raw::args::<1>(env, info);
    let fd = raw::to_u32(env, fd) as i32;
    // SAFETY: JavaScript hands over a listening socket it bound for this server and never closes.
    match with_server(|s| unsafe { s.add_listener(fd) }) {
        None => raw::throw(env, "the server is not running"),
        Some(Err(e)) => raw::throw(env, &format!("cannot serve fd {fd}: {e}")),
        Some(Ok(index)) => {
            after_call();
            raw::int(env, index as i32)
        }
    }
}

unsafe extern "C" fn server_remove_listener(env: Env, info: sys::napi_callback_info) -> Value {
    let [index] = raw::args::<1>(env, info);
    let index = raw::to_u32(env, index) as usize;
    with_server(|s| s.remove_listener(index));
    raw::undefined(env)
}

unsafe extern "C" fn server_shutdown(env: Env, _info: sys::napi_callback_info) -> Value {
    with_server(|s| s.shutdown());
    after_call();
    raw::undefined(env)
}

unsafe extern "C" fn server_connections(env: Env, _info: sys::napi_callback_info) -> Value {
    raw::int(env, with_server(|s| s.connections() as i32).unwrap_or(0))
}

/// `respond(id, text, headerCount, body, end)`: `text` is the status followed by every header
/// name and value; their lengths are in `resMeta` (status first, then name, value, ...).
unsafe extern "C" fn respond(env: Env, info: sys::napi_callback_info) -> Value {
    let [id, text, count, body, end] = raw::args::<5>(env, info);
    let Some(glue) = glue() else { return gone(env) };
    let id = ConnId::from_raw(raw::to_u32(env, id));
    let count = raw::to_u32(env, count) as usize;
    let end = raw::to_bool(env, end);
    let (lengths, bytes) = match unpack_fields(env, &glue, text, count) {
        Ok(unpacked) => unpacked,
        Err(message) => return raw::throw(env, &message),
    };
    let status_len = lengths[0].max(0) as usize;
    let status = &bytes[..status_len];
    // Typical responses carry a handful of headers: keep their slices on the stack.
    const INLINE: usize = 16;
    let mut inline: [(&[u8], &[u8]); INLINE] = [(&[], &[]); INLINE];
    let mut spilled = Vec::new();
    for (i, header) in field_pairs(&bytes, lengths).enumerate() {
        if count <= INLINE {
            inline[i] = header;
        } else {
            spilled.push(header);
        }
    }
    let headers = if count <= INLINE {
        &inline[..count]
    } else {
        &spilled[..]
    };

    let mut body_buf = glue.body.borrow_mut();
    let Some(body) = body_bytes(env, body, &mut body_buf) else {
        return raw::throw(
            env,
            "a response body must be a string, a Uint8Array or undefined",
        );
    };
    let result = with_server(|s| s.respond(id, status, headers, body, end));
    drop((bytes, body_buf));
    finish_write(env, &glue, result)
}

/// `inform(id, text, headerCount)`: an interim response (103 Early Hints), packed as `respond`
/// packs a head; throws when the status or a field is invalid.
unsafe extern "C" fn inform(env: Env, info: sys::napi_callback_info) -> Value {
    let [id, text, count] = raw::args::<3>(env, info);
    let Some(glue) = glue() else {
        return raw::undefined(env);
    };
    let id = ConnId::from_raw(raw::to_u32(env, id));
    let count = raw::to_u32(env, count) as usize;
    let (lengths, bytes) = match unpack_fields(env, &glue, text, count) {
        Ok(unpacked) => unpacked,
        Err(message) => return raw::throw(env, &message),
    };
    let status = &bytes[..lengths[0].max(0) as usize];
    let headers: Vec<_> = field_pairs(&bytes, lengths).collect();
    let result = with_server(|s| s.inform(id, status, &headers));
    drop(bytes);
    after_call();
    match result {
        Some(Err(RespondError::Invalid(e))) => raw::throw(env, &e.to_string()),
        _ => raw::undefined(env),
    }
}

/// The lengths in `resMeta` and the Latin-1 bytes of a packed status and `count` fields.
unsafe fn unpack_fields<'g>(
    env: Env,
    glue: &'g Glue,
    text: Value,
    count: usize,
) -> Result<(&'g [i32], RefMut<'g, Vec<u8>>), String> {
    if 1 + 2 * count > glue.res_meta_len {
        return Err(format!(
            "too many fields: at most {}",
            (glue.res_meta_len - 1) / 2
        ));
    }
    let lengths = std::slice::from_raw_parts(glue.res_meta, 1 + 2 * count);
    let mut units = glue.units.borrow_mut();
    raw::utf16(env, text, &mut units);
    let mut bytes = glue.bytes.borrow_mut();
    bytes.clear();
    latin1_fields(&units, lengths, &mut bytes)?;
    Ok((lengths, bytes))
}

/// The name and value slices of the fields packed after the status (see `respond`).
fn field_pairs<'a>(
    bytes: &'a [u8],
    lengths: &'a [i32],
) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
    let mut at = lengths[0].max(0) as usize;
    lengths[1..].chunks_exact(2).map(move |pair| {
        let (name_len, value_len) = (pair[0].max(0) as usize, pair[1].max(0) as usize);
        let field = (
            &bytes[at..at + name_len],
            &bytes[at + name_len..at + name_len + value_len],
        );
        at += name_len + value_len;
        field
    })
}

/// `write(id, chunk)`
unsafe extern "C" fn write(env: Env, info: sys::napi_callback_info) -> Value {
    let [id, chunk] = raw::args::<2>(env, info);
    let Some(glue) = glue() else { return gone(env) };
    let id = ConnId::from_raw(raw::to_u32(env, id));
    let mut body_buf = glue.body.borrow_mut();
    let Some(body) = body_bytes(env, chunk, &mut body_buf) else {
        return raw::throw(
            env,
            "a response body chunk must be a string or a Uint8Array",
        );
    };
    let result = with_server(|s| s.write(id, body));
    drop(body_buf);
    finish_write(env, &glue, result)
}

/// `end(id, text?, trailerCount?)`: trailers are packed as `respond` packs headers, after an
/// empty status.
unsafe extern "C" fn end(env: Env, info: sys::napi_callback_info) -> Value {
    let [id, text, count] = raw::args::<3>(env, info);
    let Some(glue) = glue() else { return gone(env) };
    let id = ConnId::from_raw(raw::to_u32(env, id));
    // An absent count reads as 0: no trailers.
    let count = raw::to_u32(env, count) as usize;
    if count == 0 {
        let result = with_server(|s| s.end(id, &[]));
        return finish_write(env, &glue, result);
    }
    let (lengths, bytes) = match unpack_fields(env, &glue, text, count) {
        Ok(unpacked) => unpacked,
        Err(message) => return raw::throw(env, &message),
    };
    let result = {
        let trailers: Vec<_> = field_pairs(&bytes, lengths).collect();
        with_server(|s| s.end(id, &trailers))
    };
    drop(bytes);
    finish_write(env, &glue, result)
}

/// `abort(id)`
unsafe extern "C" fn abort(env: Env, info: sys::napi_callback_info) -> Value {
    let [id] = raw::args::<1>(env, info);
    with_server(|s| s.abort(ConnId::from_raw(raw::to_u32(env, id))));
    after_call();
    raw::undefined(env)
}

/// `detach(id)`: the connection leaves HTTP (see `Server::detach`); throws if it cannot.
unsafe extern "C" fn detach(env: Env, info: sys::napi_callback_info) -> Value {
    let [id] = raw::args::<1>(env, info);
    let result = with_server(|s| s.detach(ConnId::from_raw(raw::to_u32(env, id))));
    after_call();
    match result {
        Some(Err(e)) => raw::throw(env, &format!("cannot take the connection over: {e}")),
        _ => raw::undefined(env),
    }
}

/// `pauseBody(id, paused)`
unsafe extern "C" fn pause_body(env: Env, info: sys::napi_callback_info) -> Value {
    let [id, paused] = raw::args::<2>(env, info);
    let (id, paused) = (
        ConnId::from_raw(raw::to_u32(env, id)),
        raw::to_bool(env, paused),
    );
    with_server(|s| s.set_body_paused(id, paused));
    after_call();
    raw::undefined(env)
}

/// Write status codes returned to JavaScript.
const W_READY: i32 = 0;
const W_FULL: i32 = 1;
const W_GONE: i32 = -1;

unsafe fn gone(env: Env) -> Value {
    raw::int(env, W_GONE)
}

unsafe fn finish_write(
    env: Env,
    glue: &Glue,
    result: Option<Result<WriteStatus, RespondError>>,
) -> Value {
    after_call_with(glue);
    match result {
        Some(Ok(WriteStatus::Ready)) => raw::int(env, W_READY),
        Some(Ok(WriteStatus::Full)) => raw::int(env, W_FULL),
        None | Some(Err(RespondError::Gone)) => raw::int(env, W_GONE),
        Some(Err(e)) => raw::throw(env, &e.to_string()),
    }
}

fn after_call() {
    if let Some(glue) = glue() {
        after_call_with(&glue);
    }
}

/// Outside a batch nobody else will flush: write now, and let the idle handle dispatch
/// anything the call unblocked (the next pipelined request, say).
fn after_call_with(glue: &Glue) {
    if glue.in_batch.get() {
        return;
    }
    let pending = with_server(|s| {
        s.flush();
        s.has_events()
    });
    if pending == Some(true) {
        arm_idle(glue);
    }
}

fn arm_idle(glue: &Glue) {
    if !glue.idle_on.replace(true) {
        glue.idle.start_idle(on_idle);
    }
}

/// Narrows UTF-16 text to bytes; HTTP fields are ISO-8859-1, so a wider character is refused
/// with the name of the field that holds it.
fn latin1_fields(units: &[u16], lengths: &[i32], out: &mut Vec<u8>) -> Result<(), String> {
    let total: usize = lengths.iter().map(|&l| l.max(0) as usize).sum();
    if total != units.len() {
        return Err("response header lengths do not match the header text".into());
    }
    out.reserve(units.len());
    let mut at = 0;
    for (i, &len) in lengths.iter().enumerate() {
        let field = &units[at..at + len.max(0) as usize];
        if field.iter().any(|&u| u > 0xff) {
            let what = match i {
                0 => "the status line".to_string(),
                _ if i % 2 == 1 => format!("header name {:?}", String::from_utf16_lossy(field)),
                _ => format!(
                    "the value of header {:?}",
                    String::from_utf16_lossy(&units[at - lengths[i - 1] as usize..at])
                ),
            };
            return Err(format!("{what} contains a character outside ISO-8859-1"));
        }
        out.extend(field.iter().map(|&u| u as u8));
        at += field.len();
    }
    Ok(())
}

unsafe fn body_bytes(env: Env, value: Value, scratch: &mut Vec<u8>) -> Option<&[u8]> {
    match raw::type_of(env, value) {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => Some(&[]),
        sys::ValueType::napi_string => {
            scratch.clear();
            raw::append_utf8(env, value, scratch);
            Some(&scratch[..])
        }
        _ => raw::bytes_of(env, value),
    }
}

unsafe extern "C" fn on_readable(_handle: *mut uv::Handle, _status: i32, _events: i32) {
    if let Some(glue) = glue() {
        run_batch(&glue);
    }
}

unsafe extern "C" fn on_idle(_handle: *mut uv::Handle) {
    let Some(glue) = glue() else { return };
    run_batch(&glue);
    if with_server(|s| s.has_events()) != Some(true) {
        glue.idle_on.set(false);
        glue.idle.stop_idle();
    }
}

/// Expired deadlines may answer a client (408) and tell the app a body or response stalled.
unsafe extern "C" fn on_tick(_handle: *mut uv::Handle) {
    with_server(|s| s.tick(Instant::now()));
    if let Some(glue) = glue() {
        run_batch(&glue);
    }
}

/// Handles every ready socket and every request they carry, then flushes all responses.
unsafe fn run_batch(glue: &Glue) {
    let env = glue.env;
    let mut scope = ptr::null_mut();
    sys::napi_open_handle_scope(env, &mut scope);
    glue.in_batch.set(true);
    for _ in 0..MAX_ROUNDS {
        let _ = with_server(|s| s.poll_io(Some(Duration::ZERO)));
        if with_server(|s| s.has_events()) != Some(true) {
            break;
        }
        let mut callback_scope = ptr::null_mut();
        sys::napi_open_callback_scope(
            env,
            glue.resource.get(env),
            glue.context,
            &mut callback_scope,
        );
        dispatch_events(glue);
        // Closing the scope runs queued promise jobs and nextTicks: async handlers that resolve
        // at once respond here, still inside the batch.
        sys::napi_close_callback_scope(env, callback_scope);
    }
    glue.in_batch.set(false);
    let pending = with_server(|s| {
        s.flush();
        s.has_events()
    });
    if pending == Some(true) {
        arm_idle(glue);
    }
    sys::napi_close_handle_scope(env, scope);
}

unsafe fn dispatch_events(glue: &Glue) {
    let env = glue.env;
    while let Some(Some(event)) = with_server(|s| s.next_event()) {
        let mut scope = ptr::null_mut();
        sys::napi_open_handle_scope(env, &mut scope);
        let id = event.id;
        match event.kind {
            EventKind::Request => dispatch_request(glue, id),
            EventKind::Body => {
                let chunk =
                    with_server(|s| s.body_chunk(id).map(|b| raw::buffer_copy(env, b))).flatten();
                if let Some(chunk) = chunk {
                    with_server(|s| s.body_consumed(id));
                    call_event(glue, EV_BODY, id, chunk);
                }
            }
            EventKind::BodyEnd => call_event(glue, EV_BODY_END, id, trailers_value(env, id)),
            EventKind::BodyError => call_event(glue, EV_BODY_ERROR, id, raw::undefined(env)),
            EventKind::Drain => call_event(glue, EV_DRAIN, id, raw::undefined(env)),
            EventKind::Closed => call_event(glue, EV_CLOSED, id, raw::undefined(env)),
        }
        sys::napi_close_handle_scope(env, scope);
    }
}

unsafe fn dispatch_request(glue: &Glue, id: ConnId) {
    let env = glue.env;
    let meta = std::slice::from_raw_parts_mut(glue.req_meta, glue.req_meta_len);
    let prepared = with_server(|s| {
        let view = s.request(id)?;
        let head = view.head;
        let mut flags = (head.minor_version as i32) << 8;
        if head.keep_alive {
            flags |= F_KEEP_ALIVE;
        }
        if view.body.is_some() {
            flags |= F_BODY_COMPLETE;
        }
        if head.expect_continue {
            flags |= F_EXPECT_CONTINUE;
        }
        if head.upgrade {
            flags |= F_UPGRADE;
        }
        if view.https {
            flags |= F_HTTPS;
        }
        if view.tls {
            flags |= F_TLS;
        }
        if view.http2 {
            flags |= F_HTTP2;
        }
        if !matches!(
            head.body,
            ugn_http::BodyKind::None | ugn_http::BodyKind::Length(0)
        ) {
            flags |= F_HAS_BODY;
        }
        meta[M_ID] = id.raw() as i32;
        meta[M_FLAGS] = flags;
        meta[M_LISTENER] = view.listener as i32;
        meta[M_PEER_PORT] = view.peer_port as i32;
        for (at, span) in [
            (M_METHOD, head.method),
            (M_TARGET, head.target),
            (M_PATH, head.path),
            (M_QUERY, head.query),
            (M_PEER, view.peer),
        ] {
            meta[at] = span.start as i32;
            meta[at + 1] = span.end as i32;
        }
        let count = view
            .headers
            .len()
            .min((meta.len() - M_HEADERS) / M_PER_HEADER);
        meta[M_HEADER_COUNT] = count as i32;
        HEADER_NAMES.with_borrow_mut(|names| {
            for (i, h) in view.headers[..count].iter().enumerate() {
                let at = M_HEADERS + M_PER_HEADER * i;
                meta[at] = h.name.start as i32;
                meta[at + 1] = h.name.end as i32;
                meta[at + 2] = h.value.start as i32;
                meta[at + 3] = h.value.end as i32;
                meta[at + 4] = names.id(i, h.name.get(view.text));
            }
        });
        let text = raw::latin1(env, view.text);
        let body = match view.body {
            Some(b) if !b.is_empty() => raw::buffer_copy(env, b),
            _ => raw::undefined(env),
        };
        Some((text, body, view.body.is_some_and(|b| !b.is_empty())))
    })
    .flatten();
    let Some((text, body, had_body)) = prepared else {
        return;
    };
    let trailers = trailers_value(env, id);
    if had_body {
        with_server(|s| s.body_consumed(id));
    }
    call(glue, glue.on_request.get(env), &[text, body, trailers]);
}

/// A request's trailer fields as one Latin-1 string of `name: value\r\n` lines, or undefined
/// when it has none (the parser refused CR and LF inside fields).
unsafe fn trailers_value(env: Env, id: ConnId) -> Value {
    with_server(|s| {
        let trailers = s.request_trailers(id);
        if trailers.is_empty() {
            return raw::undefined(env);
        }
        let mut lines = Vec::new();
        for (name, value) in trailers {
            lines.extend_from_slice(name);
            lines.extend_from_slice(b": ");
            lines.extend_from_slice(value);
            lines.extend_from_slice(b"\r\n");
        }
        raw::latin1(env, &lines)
    })
    .unwrap_or_else(|| raw::undefined(env))
}

unsafe fn call_event(glue: &Glue, kind: i32, id: ConnId, chunk: Value) {
    let env = glue.env;
    let args = [raw::int(env, kind), raw::int(env, id.raw() as i32), chunk];
    call(glue, glue.on_event.get(env), &args);
}

/// Calls into JavaScript; an exception the callback did not catch goes to Node's
/// `uncaughtException` machinery, exactly as one thrown from any other Node callback.
unsafe fn call(glue: &Glue, func: Value, args: &[Value]) {
    let env = glue.env;
    let mut result = ptr::null_mut();
    let status = sys::napi_call_function(
        env,
        raw::undefined(env),
        func,
        args.len(),
        args.as_ptr(),
        &mut result,
    );
    if status == sys::Status::napi_pending_exception {
        let mut error = ptr::null_mut();
        sys::napi_get_and_clear_last_exception(env, &mut error);
        sys::napi_fatal_exception(env, error);
    }
}
