//! ugn's napi binding: glue only. Parsing and framing live in `crates/ugn-http`, the
//! connection engine in `crates/ugn-server`, process primitives in `crates/ugn-process`.
#![deny(clippy::all)]

mod process;
mod raw;
mod server;
mod tls;
mod uv;

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Adds the hand-written per-request functions next to the `#[napi]` exports.
#[napi(module_exports)]
pub fn exports(exports: Object, env: Env) -> Result<()> {
    // SAFETY: called once by napi-rs with this thread's env and its exports object.
    unsafe { server::register(env.raw(), exports.raw()) }.map_err(Error::from_reason)
}
