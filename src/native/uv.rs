//! The few libuv calls ugn needs. Node exports libuv's symbols from its own binary, so an
//! addon can register handles on the very loop that runs JavaScript, as uWebSockets.js does.

use std::ffi::{c_int, c_void};

pub type Loop = c_void;
pub type Handle = c_void;

pub const UV_READABLE: c_int = 1;
const UV_IDLE: c_int = 6;
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(lp: *mut Loop, handle: *mut Handle, fd: c_int) -> c_int;
    fn uv_poll_start(
        handle: *mut Handle,
        events: c_int,
        cb: unsafe extern "C" fn(*mut Handle, c_int, c_int),
    ) -> c_int;
    fn uv_timer_init(lp: *mut Loop, handle: *mut Handle) -> c_int;
    fn uv_timer_start(
        handle: *mut Handle,
        cb: unsafe extern "C" fn(*mut Handle),
        timeout: u64,
        repeat: u64,
    ) -> c_int;
    fn uv_idle_init(lp: *mut Loop, handle: *mut Handle) -> c_int;
    fn uv_idle_start(handle: *mut Handle, cb: unsafe extern "C" fn(*mut Handle)) -> c_int;
    fn uv_idle_stop(handle: *mut Handle) -> c_int;
    fn uv_unref(handle: *mut Handle);
    fn uv_close(handle: *mut Handle, cb: Option<unsafe extern "C" fn(*mut Handle)>);
    fn uv_strerror(err: c_int) -> *const std::ffi::c_char;
}

/// A libuv handle allocated at the size this libuv reports, freed once libuv has closed it.
pub struct UvHandle(*mut Handle);

fn check(code: c_int) -> Result<(), String> {
    if code == 0 {
        return Ok(());
    }
    // SAFETY: uv_strerror returns a static NUL-terminated string for any code.
    let text = unsafe { std::ffi::CStr::from_ptr(uv_strerror(code)) };
    Err(text.to_string_lossy().into_owned())
}

unsafe fn alloc(kind: c_int) -> *mut Handle {
    libc::calloc(1, uv_handle_size(kind)) as *mut Handle
}

unsafe extern "C" fn free_handle(handle: *mut Handle) {
    libc::free(handle);
}

impl UvHandle {
    /// Watches `fd` for readability on `lp`.
    ///
    /// # Safety
    /// `lp` must be the running loop of the calling thread.
    pub unsafe fn poll(
        lp: *mut Loop,
        fd: c_int,
        cb: unsafe extern "C" fn(*mut Handle, c_int, c_int),
    ) -> Result<UvHandle, String> {
        let handle = alloc(UV_POLL);
        check(uv_poll_init(lp, handle, fd))?;
        check(uv_poll_start(handle, UV_READABLE, cb))?;
        Ok(UvHandle(handle))
    }

    /// A repeating timer that does not keep the loop alive by itself.
    ///
    /// # Safety
    /// As for [`UvHandle::poll`].
    pub unsafe fn interval(
        lp: *mut Loop,
        every_ms: u64,
        cb: unsafe extern "C" fn(*mut Handle),
    ) -> Result<UvHandle, String> {
        let handle = alloc(UV_TIMER);
        check(uv_timer_init(lp, handle))?;
        check(uv_timer_start(handle, cb, every_ms, every_ms))?;
        uv_unref(handle);
        Ok(UvHandle(handle))
    }

    /// An idle handle, started on demand: while active, the loop does not block in its poll
    /// phase and calls `cb` once per turn.
    ///
    /// # Safety
    /// As for [`UvHandle::poll`].
    pub unsafe fn idle(lp: *mut Loop) -> Result<UvHandle, String> {
        let handle = alloc(UV_IDLE);
        check(uv_idle_init(lp, handle))?;
        Ok(UvHandle(handle))
    }

    pub fn start_idle(&self, cb: unsafe extern "C" fn(*mut Handle)) {
        // SAFETY: self.0 is an initialised idle handle; starting an active one is a no-op.
        unsafe { uv_idle_start(self.0, cb) };
    }

    pub fn stop_idle(&self) {
        // SAFETY: as above.
        unsafe { uv_idle_stop(self.0) };
    }
}

impl Drop for UvHandle {
    fn drop(&mut self) {
        // SAFETY: the handle was initialised on this thread's loop; libuv frees it through the
        // close callback once it is safe to.
        unsafe { uv_close(self.0, Some(free_handle)) };
    }
}
