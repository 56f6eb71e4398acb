//! Pid validation shared by signalling and reaping.

use std::io;

/// Converts a worker pid for `kill` and `waitpid`, refusing the values that do not name a single
/// process: 0 and anything above `i32::MAX` (negative as a `pid_t`) address a whole process group
/// there, and a wrong pid from JavaScript must never signal or reap the master's group.
pub(crate) fn single_pid(pid: u32) -> io::Result<libc::pid_t> {
    match libc::pid_t::try_from(pid) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{pid} is not a process id"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_pids_that_name_a_process_group() {
        for pid in [0, u32::MAX, 1 << 31] {
            assert_eq!(
                single_pid(pid).unwrap_err().kind(),
                io::ErrorKind::InvalidInput,
                "{pid}"
            );
        }
        assert_eq!(single_pid(1).unwrap(), 1);
        assert_eq!(single_pid(i32::MAX as u32).unwrap(), i32::MAX);
    }
}
