//! Starting a worker process that inherits chosen listening sockets at fixed descriptor numbers.
//!
//! This is fork and execve by hand rather than `std::process::Command`: Command reports exec
//! failures through a pipe whose descriptor number it picks itself, and moving the inherited
//! sockets into 3, 4, 5... in the child could land on that pipe. Here the report pipe is kept
//! above the range the sockets move into.

use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::{env, iter, mem, ptr};

/// The worker's first inherited descriptor, after stdin, stdout and stderr, as in systemd's
/// socket activation.
const FIRST_INHERITED_FD: RawFd = 3;

/// What a worker is started as. stdin, stdout and stderr are the master's, and so is the process
/// group, so that Ctrl-C in a terminal reaches the workers too, as with Gunicorn.
#[derive(Debug, Clone, Default)]
pub struct WorkerCommand {
    /// Run as given if it contains a slash, otherwise looked up in the worker's PATH.
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Set on top of the master's environment, replacing variables of the same name.
    pub env: Vec<(OsString, OsString)>,
    /// Descriptors the worker gets as 3, 4, 5... in this order, and not close-on-exec there.
    pub inherit_fds: Vec<RawFd>,
    /// Linux only: the signal the worker gets when the master dies (PR_SET_PDEATHSIG). The kernel
    /// ties it to the thread that spawned the worker, so spawn from a thread that lives as long as
    /// the master (Node's main thread). Ignored elsewhere, where a worker has to notice that its
    /// parent pid changed, as Gunicorn's workers do.
    pub parent_death_signal: Option<i32>,
    pub cwd: Option<PathBuf>,
    /// The descriptor the worker gets as its stdout and stderr (Gunicorn's capture_output);
    /// `None` shares the master's.
    pub output: Option<RawFd>,
}

// What the child was doing when it failed, sent to the parent with errno.
const STAGE_SIGNALS: i32 = 1;
const STAGE_DEATH_SIGNAL: i32 = 2;
const STAGE_FDS: i32 = 3;
const STAGE_CWD: i32 = 4;
const STAGE_EXEC: i32 = 5;

/// Starts the worker and returns its pid once it has executed `program`. Setup failures in the
/// child (a descriptor that is not open, a missing directory, a program that cannot run) come
/// back as errors, with the child already reaped. The caller owns the pid from then on: nothing
/// here waits for it, and it must be reaped with [`crate::try_reap`].
pub fn spawn(cmd: &WorkerCommand) -> io::Result<u32> {
    let mut exec = Exec::prepare(cmd)?;
    let (report_rx, report_tx) = report_pipe(exec.first_free_fd())?;
    // SAFETY: the child runs only exec_child, which never returns.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        // SAFETY: this is the child of the fork just made.
        0 => unsafe { exec_child(&mut exec, report_tx.as_raw_fd()) },
        pid => {
            drop(report_tx);
            let mut report = Vec::new();
            File::from(report_rx).read_to_end(&mut report)?;
            if report.is_empty() {
                // The pipe closed at a successful exec.
                return Ok(pid as u32);
            }
            reap_failed(pid);
            Err(describe_failure(&report, cmd))
        }
    }
}

/// Points this process's stdout and stderr at `fd`, as [`WorkerCommand::output`] does at spawn:
/// a worker capturing its output follows the error log to the file a reopen (USR1) opened.
pub fn redirect_output(fd: RawFd) -> io::Result<()> {
    for target in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
        // SAFETY: dup2 replaces `target` atomically; whatever wrote to it now writes to `fd`'s file.
        if unsafe { libc::dup2(fd, target) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Everything the child needs, built before fork: after it, the child may not allocate.
struct Exec {
    path: CString,
    // The pointer arrays point into these.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    cwd: Option<CString>,
    fds: Vec<RawFd>,
    /// Room for the temporary copies of `fds`, filled in by the child.
    copies: Vec<RawFd>,
    output: Option<RawFd>,
    /// The signal and the pid of the master it watches.
    #[cfg(target_os = "linux")]
    death: Option<(libc::c_int, libc::pid_t)>,
}

impl Exec {
    fn prepare(cmd: &WorkerCommand) -> io::Result<Exec> {
        let vars = worker_env(&cmd.env);
        let path_var = vars
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_os_str());
        let path = c_string(resolve(&cmd.program, path_var)?.as_os_str())?;
        let argv = iter::once(cmd.program.as_os_str())
            .chain(cmd.args.iter().map(OsString::as_os_str))
            .map(c_string)
            .collect::<io::Result<Vec<_>>>()?;
        let envp = vars
            .iter()
            .map(|(k, v)| {
                if k.is_empty() || k.as_bytes().contains(&b'=') {
                    return Err(invalid(format!(
                        "{k:?} is not a valid environment variable name"
                    )));
                }
                let mut entry = k.as_bytes().to_vec();
                entry.push(b'=');
                entry.extend_from_slice(v.as_bytes());
                c_string(OsStr::from_bytes(&entry))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let null_terminated = |strings: &[CString]| {
            let ptrs = strings.iter().map(|s| s.as_ptr());
            ptrs.chain(iter::once(ptr::null())).collect::<Vec<_>>()
        };
        Ok(Exec {
      path,
      argv_ptrs: null_terminated(&argv),
      envp_ptrs: null_terminated(&envp),
      _argv: argv,
      _envp: envp,
      cwd: cmd.cwd.as_deref().map(|p| c_string(p.as_os_str())).transpose()?,
      fds: cmd.inherit_fds.clone(),
      copies: vec![-1; cmd.inherit_fds.len()],
      output: cmd.output,
      #[cfg(target_os = "linux")]
      // SAFETY: getpid has no preconditions.
      death: cmd.parent_death_signal.map(|sig| (sig, unsafe { libc::getpid() })),
    })
    }

    fn first_free_fd(&self) -> RawFd {
        FIRST_INHERITED_FD + self.fds.len() as RawFd
    }
}

/// The master's environment with `overrides` applied, the later of two equal names winning.
fn worker_env(overrides: &[(OsString, OsString)]) -> Vec<(OsString, OsString)> {
    let mut vars: Vec<(OsString, OsString)> = env::vars_os().collect();
    for (name, value) in overrides {
        vars.retain(|(k, _)| k != name);
        vars.push((name.clone(), value.clone()));
    }
    vars
}

/// execvp's lookup, done before fork because execvp itself may allocate.
fn resolve(program: &Path, path_var: Option<&OsStr>) -> io::Result<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Ok(program.to_owned());
    }
    let dirs = path_var.unwrap_or(OsStr::new("/usr/bin:/bin"));
    env::split_paths(dirs)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} was not found in PATH", program.display()),
            )
        })
}

fn c_string(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| invalid(format!("{s:?} contains a NUL byte")))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// A close-on-exec pipe whose write end is numbered at least `min_fd`, out of the way of the
/// descriptors the child moves into place below it.
fn report_pipe(min_fd: RawFd) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: fds has room for the two descriptors.
    #[cfg(target_os = "linux")]
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    // macOS has no pipe2; a fork from another thread in between would only hold the pipe open until
    // that child's exec.
    #[cfg(not(target_os = "linux"))]
    let rc = unsafe {
        let rc = libc::pipe(fds.as_mut_ptr());
        if rc == 0 {
            libc::fcntl(fds[0], libc::F_SETFD, libc::FD_CLOEXEC);
            libc::fcntl(fds[1], libc::F_SETFD, libc::FD_CLOEXEC);
        }
        rc
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe returned two new descriptors that nothing else owns.
    let (rx, tx) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    if tx.as_raw_fd() >= min_fd {
        return Ok((rx, tx));
    }
    // SAFETY: tx is open; F_DUPFD_CLOEXEC returns a new descriptor or -1.
    match unsafe { libc::fcntl(tx.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min_fd) } {
        -1 => Err(io::Error::last_os_error()),
        // SAFETY: a new descriptor that nothing else owns.
        high => Ok((rx, unsafe { OwnedFd::from_raw_fd(high) })),
    }
}

/// Runs in the child between fork and exec. The child is a copy of a multi-threaded process in
/// which another thread may have held a lock (the allocator's, say) at the fork, so only
/// async-signal-safe calls are made, and nothing allocates.
unsafe fn exec_child(exec: &mut Exec, report: RawFd) -> ! {
    // A blocked signal stays blocked across exec; the worker starts with none blocked, whatever the
    // spawning thread had.
    let mut empty: libc::sigset_t = mem::zeroed();
    libc::sigemptyset(&mut empty);
    if libc::sigprocmask(libc::SIG_SETMASK, &empty, ptr::null_mut()) != 0 {
        fail(report, STAGE_SIGNALS, 0);
    }
    // Node ignores SIGPIPE, and an ignored signal stays ignored across exec.
    libc::signal(libc::SIGPIPE, libc::SIG_DFL);

    #[cfg(target_os = "linux")]
    if let Some((sig, master)) = exec.death {
        if libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong) != 0 {
            fail(report, STAGE_DEATH_SIGNAL, sig);
        }
        // The master may have died before prctl, and then the signal will never come.
        if libc::getppid() != master {
            libc::_exit(1);
        }
    }

    // Copy every descriptor above the target range first, so moving one into place cannot close
    // another that is still to be moved (the worker's fd 3 may be the master's fd 4, and the other
    // way round). The copies are close-on-exec and vanish at exec.
    let first_free = exec.first_free_fd();
    for (i, &fd) in exec.fds.iter().enumerate() {
        let copy = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, first_free);
        if copy == -1 {
            fail(report, STAGE_FDS, fd);
        }
        exec.copies[i] = copy;
    }
    // The output descriptor may sit in the target range too, so it is copied out of the way as well.
    let output = match exec.output {
        Some(fd) => match libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, first_free) {
            -1 => fail(report, STAGE_FDS, fd),
            copy => Some(copy),
        },
        None => None,
    };
    for (i, &copy) in exec.copies.iter().enumerate() {
        // dup2's new descriptor is not close-on-exec.
        if libc::dup2(copy, FIRST_INHERITED_FD + i as RawFd) == -1 {
            fail(report, STAGE_FDS, exec.fds[i]);
        }
    }
    if let Some(copy) = output {
        for target in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
            if libc::dup2(copy, target) == -1 {
                fail(report, STAGE_FDS, copy);
            }
        }
    }

    // Otherwise the worker shares the master's stdin, stdout and stderr. Node marks its own standard
    // descriptors close-on-exec, so they must be made inheritable again here.
    for fd in 0..FIRST_INHERITED_FD {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags != -1 && flags & libc::FD_CLOEXEC != 0 {
            libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        }
    }

    if let Some(cwd) = &exec.cwd {
        if libc::chdir(cwd.as_ptr()) != 0 {
            fail(report, STAGE_CWD, 0);
        }
    }
    libc::execve(
        exec.path.as_ptr(),
        exec.argv_ptrs.as_ptr(),
        exec.envp_ptrs.as_ptr(),
    );
    fail(report, STAGE_EXEC, 0)
}

/// Tells the parent what failed and with which errno, then exits the child.
unsafe fn fail(report: RawFd, stage: i32, detail: i32) -> ! {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let message = [stage, errno, detail];
    // One write of 12 bytes to a pipe is atomic; if it fails the parent reports an empty failure.
    libc::write(report, message.as_ptr().cast(), mem::size_of_val(&message));
    libc::_exit(127)
}

/// Collects the child that failed before exec, which exits right after reporting.
fn reap_failed(pid: libc::pid_t) {
    // SAFETY: a null status pointer is allowed.
    while unsafe { libc::waitpid(pid, ptr::null_mut(), 0) } == -1
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

fn describe_failure(report: &[u8], cmd: &WorkerCommand) -> io::Error {
    let program = cmd.program.display();
    let [stage, errno, detail] = match <[u8; 12]>::try_from(report) {
        Ok(bytes) => [0, 4, 8].map(|at| i32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())),
        Err(_) => {
            return io::Error::other(format!(
                "cannot start {program}: the worker failed during setup"
            ))
        }
    };
    let err = io::Error::from_raw_os_error(errno);
    let what = match stage {
        STAGE_SIGNALS => format!("cannot reset the signal mask for {program}"),
        STAGE_DEATH_SIGNAL => format!("cannot set parent death signal {detail} for {program}"),
        STAGE_FDS => format!("cannot pass fd {detail} to {program}"),
        STAGE_CWD => {
            let cwd = cmd.cwd.as_deref().unwrap_or(Path::new(""));
            format!("cannot start {program} in {}", cwd.display())
        }
        _ => format!("cannot execute {program}"),
    };
    io::Error::new(err.kind(), format!("{what}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_programs_up_in_path_unless_they_have_a_slash() {
        let path = OsStr::new("/nonexistent:/bin");
        assert_eq!(
            resolve(Path::new("sh"), Some(path)).unwrap(),
            Path::new("/bin/sh")
        );
        assert_eq!(
            resolve(Path::new("./x"), Some(path)).unwrap(),
            Path::new("./x")
        );
        let err = resolve(Path::new("no-such-program-ugn"), Some(path)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(err.to_string(), "no-such-program-ugn was not found in PATH");
        // A directory is not a program.
        assert!(resolve(Path::new("tmp"), Some(OsStr::new("/"))).is_err());
    }

    #[test]
    fn overrides_replace_inherited_variables() {
        let inherited = env::vars_os()
            .next()
            .expect("tests run with some environment")
            .0;
        let vars = worker_env(&[
            (inherited.clone(), "a".into()),
            ("UGN_SPAWN_TEST".into(), "b".into()),
            ("UGN_SPAWN_TEST".into(), "c".into()),
        ]);
        let values = |name: &OsStr| {
            vars.iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(values(&inherited), ["a"]);
        assert_eq!(values(OsStr::new("UGN_SPAWN_TEST")), ["c"]);
    }

    #[test]
    fn refuses_what_execve_cannot_carry() {
        let sh = |f: &dyn Fn(&mut WorkerCommand)| {
            let mut cmd = WorkerCommand {
                program: "/bin/sh".into(),
                ..Default::default()
            };
            f(&mut cmd);
            Exec::prepare(&cmd).err().map(|e| (e.kind(), e.to_string()))
        };
        let refused = |message: &str| Some((io::ErrorKind::InvalidInput, message.to_string()));
        assert_eq!(
            sh(&|c| c.args.push("a\0b".into())),
            refused("\"a\\0b\" contains a NUL byte")
        );
        assert_eq!(
            sh(&|c| c.env.push(("A=B".into(), "1".into()))),
            refused("\"A=B\" is not a valid environment variable name")
        );
        assert_eq!(
            sh(&|c| c.env.push(("".into(), "1".into()))),
            refused("\"\" is not a valid environment variable name")
        );
        assert!(sh(&|_| {}).is_none());
    }

    #[test]
    fn the_report_pipe_stays_above_the_inherited_range() {
        let (rx, tx) = report_pipe(200).unwrap();
        assert!(tx.as_raw_fd() >= 200);
        for fd in [rx.as_raw_fd(), tx.as_raw_fd()] {
            assert_ne!(
                unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC,
                0
            );
        }
    }
}
