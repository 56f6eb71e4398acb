//! The heartbeat channel from a worker's JavaScript thread to the master.
//!
//! A worker proves its JS thread is alive by writing a byte now and then into a pipe; a
//! thread stuck in a handler stops writing, and the master, which drains the pipe once per
//! loop turn, sees the silence. Both ends are non-blocking: a worker never stalls on a full
//! pipe (a missed beat is harmless, the pipe is full of earlier ones), and the master never
//! stalls on an empty one.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// What draining a heartbeat pipe found.
#[derive(Debug, PartialEq, Eq)]
pub enum Beats {
    /// This many beats arrived since the last drain (possibly none).
    Received(usize),
    /// Every writer is gone: the worker exited.
    Closed,
}

/// A new pipe: `(master's read end, worker's write end)`, both close-on-exec and non-blocking.
/// The write end reaches the worker through [`crate::WorkerCommand::inherit_fds`].
pub fn heartbeat_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for the two descriptors pipe2 returns.
    #[cfg(target_os = "linux")]
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
    #[cfg(not(target_os = "linux"))]
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(not(target_os = "linux"))]
    for fd in [&read, &write] {
        set_flags(fd.as_raw_fd())?;
    }
    Ok((read, write))
}

#[cfg(not(target_os = "linux"))]
fn set_flags(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fcntl calls on an open descriptor.
    unsafe {
        if libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) == -1 {
            return Err(io::Error::last_os_error());
        }
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Reads every beat waiting in the pipe.
pub fn drain(read: &OwnedFd) -> io::Result<Beats> {
    let mut buf = [0u8; 512];
    let mut total = 0;
    loop {
        // SAFETY: buf is valid for its length; the descriptor is open.
        let n = unsafe { libc::read(read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => {
                return Ok(if total > 0 {
                    Beats::Received(total)
                } else {
                    Beats::Closed
                })
            }
            n if n > 0 => total += n as usize,
            _ => {
                let err = io::Error::last_os_error();
                return match err.kind() {
                    io::ErrorKind::WouldBlock => Ok(Beats::Received(total)),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(err),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(write: &OwnedFd, n: usize) {
        let bytes = vec![b'.'; n];
        // SAFETY: writing a valid buffer to an open descriptor.
        let written = unsafe { libc::write(write.as_raw_fd(), bytes.as_ptr().cast(), n) };
        assert_eq!(written, n as isize);
    }

    #[test]
    fn counts_beats_and_then_nothing() {
        let (read, write) = heartbeat_pipe().unwrap();
        assert_eq!(drain(&read).unwrap(), Beats::Received(0));
        beat(&write, 3);
        assert_eq!(drain(&read).unwrap(), Beats::Received(3));
        assert_eq!(drain(&read).unwrap(), Beats::Received(0));
    }

    #[test]
    fn reports_a_closed_writer() {
        let (read, write) = heartbeat_pipe().unwrap();
        beat(&write, 1);
        drop(write);
        assert_eq!(drain(&read).unwrap(), Beats::Received(1));
        assert_eq!(drain(&read).unwrap(), Beats::Closed);
    }

    #[test]
    fn a_full_pipe_refuses_a_beat_instead_of_blocking() {
        let (_read, write) = heartbeat_pipe().unwrap();
        let chunk = [b'.'; 4096];
        let mut refused = false;
        for _ in 0..1024 {
            // SAFETY: as above.
            let n = unsafe { libc::write(write.as_raw_fd(), chunk.as_ptr().cast(), chunk.len()) };
            if n == -1 {
                assert_eq!(io::Error::last_os_error().kind(), io::ErrorKind::WouldBlock);
                refused = true;
                break;
            }
        }
        assert!(refused, "a pipe never filled up");
    }
}
