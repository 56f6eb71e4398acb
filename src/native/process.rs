//! The master's process and socket primitives for JavaScript: glue over `ugn_process`.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Mutex, MutexGuard, PoisonError};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::os::fd::{AsRawFd, OwnedFd};

use ugn_process::{Beats, BindOptions, ExitStatus, Listener, WorkerCommand};

/// The master's listening sockets, held here and not by JavaScript objects so that no garbage
/// collection can close a descriptor that workers are still being handed.
static LISTENERS: Mutex<Vec<Listener>> = Mutex::new(Vec::new());

fn listeners() -> MutexGuard<'static, Vec<Listener>> {
    // The vector stays valid whatever a panicking holder was doing.
    LISTENERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Both ends of every heartbeat pipe the master holds, by descriptor number.
static PIPE_ENDS: Mutex<Option<HashMap<i32, OwnedFd>>> = Mutex::new(None);

fn with_pipe_ends<R>(f: impl FnOnce(&mut HashMap<i32, OwnedFd>) -> R) -> R {
    let mut guard = PIPE_ENDS.lock().unwrap_or_else(PoisonError::into_inner);
    f(guard.get_or_insert_with(HashMap::new))
}

fn js_error(err: impl Display) -> Error {
    Error::from_reason(err.to_string())
}

#[napi(object)]
pub struct ListenerInfo {
    /// The descriptor to pass to `spawnWorker`.
    pub fd: i32,
    /// As Gunicorn shows it: `http://127.0.0.1:8000`, `http://[::1]:8000`, `unix:/run/ugn.sock`.
    pub url: String,
    /// A `--reuse-port` reservation: pass each worker its own socket from `openWorkerListener(fd)`.
    pub per_worker: bool,
}

impl ListenerInfo {
    fn of(listener: &Listener) -> ListenerInfo {
        ListenerInfo {
            fd: listener.fd(),
            url: listener.local_url(),
            per_worker: listener.is_reservation(),
        }
    }
}

/// How a worker ended: `code` if it exited, `signal` (`"KILL"`, without `SIG`) if it was killed.
#[napi(object)]
pub struct ReapInfo {
    pub code: Option<i32>,
    pub signal: Option<String>,
}

/// Binds every address of every `--bind` value (a host name may have several), all or none.
#[napi]
pub fn bind_listeners(
    binds: Vec<String>,
    backlog: i32,
    reuse_port: bool,
    umask: u32,
) -> Result<Vec<ListenerInfo>> {
    let opts = BindOptions {
        backlog,
        reuse_port,
        umask,
    };
    let mut bound = Vec::new();
    for spec in &binds {
        for addr in ugn_process::parse_bind(spec).map_err(js_error)? {
            bound.push(ugn_process::bind(&addr, &opts).map_err(js_error)?);
        }
    }
    let infos = bound.iter().map(ListenerInfo::of).collect();
    listeners().extend(bound);
    Ok(infos)
}

/// Checks a `--bind` value without binding it: the addresses it names, or the reason it is wrong.
#[napi]
pub fn check_bind(bind: String) -> Result<Vec<String>> {
    let addrs = ugn_process::parse_bind(&bind).map_err(js_error)?;
    Ok(addrs.iter().map(|a| a.to_string()).collect())
}

/// Checks a `forwarded_allow_ips` or `proxy_allow_ips` value with the parser the workers' engine
/// uses, so the master refuses what a worker could not read.
#[napi]
pub fn check_allow_list(list: String) -> Result<()> {
    ugn_http::AllowList::parse(&list)
        .map(drop)
        .map_err(js_error)
}

/// Opens a worker's own listening socket on the `--reuse-port` reservation `fd`; returns its fd.
#[napi]
pub fn open_worker_listener(fd: i32) -> Result<i32> {
    add_worker_listener(fd, Listener::open_worker_socket)
}

/// Takes over `inherited`, a worker socket of the reservation `fd` passed on by the master this
/// one upgrades; returns its fd.
#[napi]
pub fn adopt_worker_listener(fd: i32, inherited: i32) -> Result<i32> {
    add_worker_listener(fd, |reservation| reservation.adopt_worker_socket(inherited))
}

fn add_worker_listener(
    fd: i32,
    open: impl FnOnce(&Listener) -> std::io::Result<Listener>,
) -> Result<i32> {
    let mut held = listeners();
    let reservation = held
        .iter()
        .find(|l| l.fd() == fd)
        .ok_or_else(|| js_error(format!("fd {fd} is not a listener")))?;
    let socket = open(reservation).map_err(js_error)?;
    let socket_fd = socket.fd();
    held.push(socket);
    Ok(socket_fd)
}

/// Closes one listener (a worker socket no worker is to accept from any more).
#[napi]
pub fn close_listener(fd: i32) {
    listeners().retain(|l| l.fd() != fd);
}

/// Closes every listener, first removing unix socket files if asked (not when a new master that
/// inherited the sockets keeps serving on them).
#[napi]
pub fn close_listeners(unlink_unix: bool) -> Result<()> {
    let closing = std::mem::take(&mut *listeners());
    let mut first_error = None;
    for listener in closing.iter().filter(|_| unlink_unix) {
        if let Err(err) = listener.unlink() {
            first_error.get_or_insert(err);
        }
    }
    drop(closing);
    first_error.map_or(Ok(()), |err| Err(js_error(err)))
}

/// Starts a worker with `fds` at 3, 4, 5... and `env` on top of the master's environment; with
/// `output`, that descriptor becomes the worker's stdout and stderr.
#[napi]
pub fn spawn_worker(
    program: String,
    args: Vec<String>,
    env: HashMap<String, String>,
    fds: Vec<i32>,
    parent_death_signal: Option<i32>,
    output: Option<i32>,
) -> Result<u32> {
    let cmd = WorkerCommand {
        program: program.into(),
        args: args.into_iter().map(Into::into).collect(),
        env: env.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        inherit_fds: fds,
        parent_death_signal,
        cwd: None,
        output,
    };
    ugn_process::spawn(&cmd).map_err(js_error)
}

/// Makes `fd` this process's stdout and stderr.
#[napi]
pub fn redirect_output(fd: i32) -> Result<()> {
    ugn_process::redirect_output(fd).map_err(js_error)
}

/// Sends a signal named like `"TERM"` or `"SIGTERM"`; false if the process no longer exists.
#[napi]
pub fn kill_process(pid: u32, signal: String) -> Result<bool> {
    let number = ugn_process::signal_number(&signal)
        .ok_or_else(|| js_error(format!("unknown signal {signal:?}")))?;
    ugn_process::kill(pid, number).map_err(js_error)
}

/// The worker's end if it has ended (reaping it), null while it runs.
#[napi]
pub fn try_reap(pid: u32) -> Result<Option<ReapInfo>> {
    let status = ugn_process::try_reap(pid).map_err(js_error)?;
    Ok(status.map(|status| match status {
        ExitStatus::Exited(code) => ReapInfo {
            code: Some(code),
            signal: None,
        },
        ExitStatus::Signaled(number) => ReapInfo {
            code: None,
            signal: Some(
                ugn_process::signal_name(number).map_or_else(|| number.to_string(), str::to_owned),
            ),
        },
    }))
}

/// A heartbeat pipe for a new worker: `[readFd, writeFd]`. Pass `writeFd` to `spawnWorker`,
/// then `closeFd(writeFd)` in the master; poll `readFd` with `drainHeartbeat`.
#[napi]
pub fn heartbeat_pipe() -> Result<Vec<i32>> {
    let (read, write) = ugn_process::heartbeat_pipe().map_err(js_error)?;
    let fds = vec![read.as_raw_fd(), write.as_raw_fd()];
    with_pipe_ends(|ends| {
        ends.insert(fds[0], read);
        ends.insert(fds[1], write);
    });
    Ok(fds)
}

/// Beats received since the last call, or -1 once the worker's end is closed.
#[napi]
pub fn drain_heartbeat(fd: i32) -> Result<i32> {
    with_pipe_ends(|ends| {
        let read = ends
            .get(&fd)
            .ok_or_else(|| js_error(format!("fd {fd} is not a heartbeat pipe")))?;
        match ugn_process::drain(read).map_err(js_error)? {
            Beats::Received(n) => Ok(n.min(i32::MAX as usize) as i32),
            Beats::Closed => Ok(-1),
        }
    })
}

/// Closes one end of a heartbeat pipe.
#[napi]
pub fn close_fd(fd: i32) {
    with_pipe_ends(|ends| ends.remove(&fd));
}

/// The uid of a user name, or null if there is no such user.
#[napi]
pub fn lookup_user(name: String) -> Result<Option<u32>> {
    ugn_process::user_id(&name).map_err(js_error)
}

/// The gid of a group name, or null if there is no such group.
#[napi]
pub fn lookup_group(name: String) -> Result<Option<u32>> {
    ugn_process::group_id(&name).map_err(js_error)
}
