//! Collecting the exit status of one worker.

use std::io;

use crate::pid::single_pid;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It called exit with this code.
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
}

/// Reaps `pid` if it has ended, without blocking: `Ok(None)` while it runs. Only ever waits for
/// the given pid: in a Node master, libuv reaps the children it spawned itself, by pid, and a
/// `waitpid(-1)` here would steal their statuses. A pid that is not an unreaped child of this
/// process (never was, or already reaped) is an error.
pub fn try_reap(pid: u32) -> io::Result<Option<ExitStatus>> {
    let pid = single_pid(pid)?;
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out-pointer.
        match unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } {
            0 => return Ok(None),
            -1 => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(io::Error::new(err.kind(), format!("waitpid({pid}): {err}")));
                }
            }
            _ if libc::WIFEXITED(status) => {
                return Ok(Some(ExitStatus::Exited(libc::WEXITSTATUS(status))))
            }
            _ if libc::WIFSIGNALED(status) => {
                return Ok(Some(ExitStatus::Signaled(libc::WTERMSIG(status))))
            }
            // A stop, reported without WUNTRACED only to a tracer: the process is still alive. Not a
            // panic, which would take the whole master down.
            _ => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{Duration, Instant};

    fn reap_within(pid: u32, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = try_reap(pid).unwrap() {
                return status;
            }
            assert!(start.elapsed() < limit, "{pid} did not end");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn reports_exit_code_then_forgets_the_pid() {
        let pid = Command::new("/bin/sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap()
            .id();
        assert_eq!(
            reap_within(pid, Duration::from_secs(10)),
            ExitStatus::Exited(3)
        );
        let err = try_reap(pid).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("waitpid({pid}): "))
                && err.ends_with(&format!("(os error {})", libc::ECHILD)),
            "{err}"
        );
    }

    #[test]
    fn running_child_is_none_and_killed_child_is_signaled() {
        let pid = Command::new("/bin/sh")
            .args(["-c", "exec sleep 30"])
            .spawn()
            .unwrap()
            .id();
        assert_eq!(try_reap(pid).unwrap(), None);
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        assert_eq!(
            reap_within(pid, Duration::from_secs(10)),
            ExitStatus::Signaled(libc::SIGKILL)
        );
    }

    #[test]
    fn refuses_group_pids_and_strangers() {
        assert_eq!(try_reap(0).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        // Process 1 is never our child.
        let err = try_reap(1).unwrap_err().to_string();
        assert!(
            err.starts_with("waitpid(1): ")
                && err.ends_with(&format!("(os error {})", libc::ECHILD)),
            "{err}"
        );
    }
}
