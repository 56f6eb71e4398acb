//! Direct Node-API calls for the per-request path. napi-rs's typed arguments cost a reference
//! per Buffer and a conversion per value; here every crossing is one plain `napi_*` call.

use std::ffi::{c_char, c_void};
use std::ptr;

use napi::sys;

pub type Env = sys::napi_env;
pub type Value = sys::napi_value;

/// The JavaScript arguments of a call, up to `N` of them (missing ones are `undefined`).
pub unsafe fn args<const N: usize>(env: Env, info: sys::napi_callback_info) -> [Value; N] {
    let mut argv = [ptr::null_mut(); N];
    let mut argc = N;
    sys::napi_get_cb_info(
        env,
        info,
        &mut argc,
        argv.as_mut_ptr(),
        ptr::null_mut(),
        ptr::null_mut(),
    );
    argv
}

pub unsafe fn to_u32(env: Env, value: Value) -> u32 {
    let mut out = 0;
    sys::napi_get_value_uint32(env, value, &mut out);
    out
}

pub unsafe fn to_bool(env: Env, value: Value) -> bool {
    let mut out = false;
    sys::napi_get_value_bool(env, value, &mut out);
    out
}

pub unsafe fn int(env: Env, n: i32) -> Value {
    let mut out = ptr::null_mut();
    sys::napi_create_int32(env, n, &mut out);
    out
}

pub unsafe fn undefined(env: Env) -> Value {
    let mut out = ptr::null_mut();
    sys::napi_get_undefined(env, &mut out);
    out
}

pub unsafe fn latin1(env: Env, bytes: &[u8]) -> Value {
    let mut out = ptr::null_mut();
    sys::napi_create_string_latin1(
        env,
        bytes.as_ptr() as *const c_char,
        bytes.len() as isize,
        &mut out,
    );
    out
}

pub unsafe fn buffer_copy(env: Env, bytes: &[u8]) -> Value {
    let mut out = ptr::null_mut();
    let mut data = ptr::null_mut();
    sys::napi_create_buffer_copy(
        env,
        bytes.len(),
        bytes.as_ptr() as *const c_void,
        &mut data,
        &mut out,
    );
    out
}

pub unsafe fn throw(env: Env, message: &str) -> Value {
    let text = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
    sys::napi_throw_error(env, ptr::null(), text.as_ptr());
    ptr::null_mut()
}

pub unsafe fn type_of(env: Env, value: Value) -> sys::napi_valuetype {
    let mut out = 0;
    sys::napi_typeof(env, value, &mut out);
    out
}

/// A typed array's element kind, element count and data pointer.
unsafe fn typed_array(
    env: Env,
    value: Value,
) -> Option<(sys::napi_typedarray_type, usize, *mut c_void)> {
    let mut is_typed = false;
    sys::napi_is_typedarray(env, value, &mut is_typed);
    if !is_typed {
        return None;
    }
    let mut kind = 0;
    let mut len = 0;
    let mut data = ptr::null_mut();
    sys::napi_get_typedarray_info(
        env,
        value,
        &mut kind,
        &mut len,
        &mut data,
        ptr::null_mut(),
        ptr::null_mut(),
    );
    Some((kind, len, data))
}

/// The bytes of a Uint8Array (or Buffer), or None for any other value.
pub unsafe fn bytes_of<'a>(env: Env, value: Value) -> Option<&'a [u8]> {
    match typed_array(env, value)? {
        (_, 0, _) => Some(&[]),
        (sys::TypedarrayType::uint8_array, len, data) => {
            Some(std::slice::from_raw_parts(data as *const u8, len))
        }
        _ => None,
    }
}

/// The elements of an Int32Array, or None for any other value. The slice aliases memory that
/// JavaScript can write: it is valid while the array is referenced and not detached.
pub unsafe fn i32s_of<'a>(env: Env, value: Value) -> Option<&'a mut [i32]> {
    match typed_array(env, value)? {
        // An empty array may have no backing store at all.
        (sys::TypedarrayType::int32_array, 0, _) => Some(&mut []),
        (sys::TypedarrayType::int32_array, len, data) if !data.is_null() => {
            Some(std::slice::from_raw_parts_mut(data as *mut i32, len))
        }
        _ => None,
    }
}

/// Copies a string's UTF-8 encoding onto the end of `out`.
pub unsafe fn append_utf8(env: Env, value: Value, out: &mut Vec<u8>) {
    let mut len = 0;
    sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len);
    let start = out.len();
    out.reserve(len + 1);
    let mut written = 0;
    sys::napi_get_value_string_utf8(
        env,
        value,
        out.as_mut_ptr().add(start) as *mut c_char,
        len + 1,
        &mut written,
    );
    out.set_len(start + written);
}

/// Copies a string's UTF-16 code units into `out`, replacing its contents.
pub unsafe fn utf16(env: Env, value: Value, out: &mut Vec<u16>) {
    let mut len = 0;
    sys::napi_get_value_string_utf16(env, value, ptr::null_mut(), 0, &mut len);
    out.clear();
    out.reserve(len + 1);
    let mut written = 0;
    sys::napi_get_value_string_utf16(env, value, out.as_mut_ptr(), len + 1, &mut written);
    out.set_len(written);
}

/// A persistent reference that keeps a value alive across calls.
pub struct Ref(sys::napi_ref);

impl Ref {
    pub unsafe fn new(env: Env, value: Value) -> Ref {
        let mut out = ptr::null_mut();
        sys::napi_create_reference(env, value, 1, &mut out);
        Ref(out)
    }

    pub unsafe fn get(&self, env: Env) -> Value {
        let mut out = ptr::null_mut();
        sys::napi_get_reference_value(env, self.0, &mut out);
        out
    }
}

pub unsafe fn set_function(
    env: Env,
    exports: Value,
    name: &str,
    cb: unsafe extern "C" fn(Env, sys::napi_callback_info) -> Value,
) -> Result<(), String> {
    let mut func = ptr::null_mut();
    let status = sys::napi_create_function(
        env,
        name.as_ptr() as *const c_char,
        name.len() as isize,
        Some(cb),
        ptr::null_mut(),
        &mut func,
    );
    if status != sys::Status::napi_ok {
        return Err(format!("cannot create function {name}"));
    }
    let cname = std::ffi::CString::new(name).unwrap();
    sys::napi_set_named_property(env, exports, cname.as_ptr(), func);
    Ok(())
}
