//! Signals by name, as the master's configuration and logs spell them, and sending them.

use std::io;

use crate::pid::single_pid;

/// Every standard signal that Linux and macOS share, so that any way a worker can die has a name.
const SIGNALS: &[(&str, libc::c_int)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("SYS", libc::SIGSYS),
];

/// The number of a signal named like Gunicorn names them (`TERM`), also accepting the `SIGTERM`
/// spelling and any letter case.
pub fn signal_number(name: &str) -> Option<i32> {
    let bare = match name.get(..3) {
        Some(prefix) if prefix.eq_ignore_ascii_case("SIG") => &name[3..],
        _ => name,
    };
    SIGNALS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(bare))
        .map(|&(_, number)| number)
}

/// The name of a signal without the `SIG` prefix (`TERM`); `None` for real-time signals.
pub fn signal_name(number: i32) -> Option<&'static str> {
    SIGNALS
        .iter()
        .find(|&&(_, n)| n == number)
        .map(|&(name, _)| name)
}

/// Sends `sig` to one process. `Ok(false)` means the process no longer exists (ESRCH), which a
/// master racing a worker's exit must treat as a normal outcome rather than an error. Signal 0
/// only checks that the process exists. A process that exited but is not reaped yet still exists.
pub fn kill(pid: u32, sig: i32) -> io::Result<bool> {
    let pid = single_pid(pid)?;
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(pid, sig) } == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ESRCH) => Ok(false),
        _ => Err(io::Error::new(
            err.kind(),
            format!("kill({pid}, {sig}): {err}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        for name in [
            "TERM", "INT", "QUIT", "HUP", "TTIN", "TTOU", "USR1", "USR2", "WINCH", "CHLD", "KILL",
            "ABRT",
        ] {
            let number = signal_number(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(signal_name(number), Some(name));
        }
        assert_eq!(signal_number("TERM"), Some(libc::SIGTERM));
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("sigterm"), Some(libc::SIGTERM));
        assert_eq!(signal_number("winch"), Some(libc::SIGWINCH));
        assert_eq!(signal_number("SIG"), None);
        assert_eq!(signal_number("NOPE"), None);
        assert_eq!(signal_number(""), None);
        assert_eq!(signal_number("SIGé"), None);
        assert_eq!(signal_name(9), Some("KILL"));
        assert_eq!(signal_name(0), None);
    }

    #[test]
    fn every_signal_has_one_name() {
        for (i, (name, number)) in SIGNALS.iter().enumerate() {
            assert!(
                SIGNALS[i + 1..]
                    .iter()
                    .all(|(n, s)| n != name && s != number),
                "{name}"
            );
        }
    }

    #[test]
    fn signal_zero_checks_existence() {
        assert!(kill(std::process::id(), 0).unwrap());
        assert_eq!(kill(0, 0).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
}
