//! Real worker processes: spawned with inherited listeners, signalled and reaped.
//!
//! The workers that must do more than a shell can (accept on an inherited socket, spawn workers
//! of their own) are this test binary again, re-executed with `UGN_TEST_ROLE` set so that it runs
//! [`worker_entry`] instead of the tests.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{FromRawFd, RawFd};
use std::path::PathBuf;
use std::process;
use std::thread::sleep;
use std::time::{Duration, Instant};

use ugn_process::{
    bind, kill, parse_bind, spawn, try_reap, BindAddr, BindOptions, ExitStatus, Listener,
    WorkerCommand,
};

const ROLE: &str = "UGN_TEST_ROLE";
const LIMIT: Duration = Duration::from_secs(20);

#[test]
#[ignore = "not a test: the entry point of the workers the other tests spawn"]
fn worker_entry() {
    let Ok(role) = env::var(ROLE) else { return };
    let count = |name: &str| env::var(name).unwrap().parse::<RawFd>().unwrap();
    let code = match role.as_str() {
        // Accepts one connection on each of fds 3, 4... and answers with the fd number.
        "accept" => {
            for fd in 3..3 + count("UGN_TEST_FDS") {
                // SAFETY: the spawner put a listening socket at this number for us.
                let listener = unsafe { TcpListener::from_raw_fd(fd) };
                let (mut conn, _) = accept_patiently(&listener);
                writeln!(conn, "fd {fd}").unwrap();
            }
            0
        }
        // Passes its fds 3 and 4 on swapped, so each must move onto the other's number.
        "swap" => {
            let mut cmd = worker("accept", vec![4, 3]);
            cmd.env.push(("UGN_TEST_FDS".into(), "2".into()));
            match reap_patiently(spawn(&cmd).unwrap()) {
                ExitStatus::Exited(code) => code,
                other => panic!("{other:?}"),
            }
        }
        // Starts a long sleeper, records its pid, and exits without waiting for it.
        "orphan" => {
            let death_signal = env::var("UGN_TEST_DEATH_SIGNAL").unwrap().parse().unwrap();
            let sleeper = spawn(&WorkerCommand {
                program: "sleep".into(),
                args: vec!["30".into()],
                parent_death_signal: (death_signal != 0).then_some(death_signal),
                ..Default::default()
            })
            .unwrap();
            fs::write(env::var("UGN_TEST_PIDFILE").unwrap(), sleeper.to_string()).unwrap();
            0
        }
        other => panic!("unknown role {other}"),
    };
    process::exit(code);
}

/// A command that runs this test binary as a worker in `role`.
fn worker(role: &str, inherit_fds: Vec<RawFd>) -> WorkerCommand {
    WorkerCommand {
        program: env::current_exe().unwrap(),
        args: [
            "worker_entry",
            "--exact",
            "--ignored",
            "--nocapture",
            "--quiet",
        ]
        .map(OsString::from)
        .to_vec(),
        env: vec![(ROLE.into(), role.into())],
        inherit_fds,
        ..Default::default()
    }
}

fn shell(script: &str) -> WorkerCommand {
    WorkerCommand {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        ..Default::default()
    }
}

fn accept_patiently(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    let start = Instant::now();
    loop {
        // Inherited listeners are non-blocking.
        match listener.accept() {
            Ok((conn, peer)) => {
                // macOS passes the listener's O_NONBLOCK on to accepted sockets.
                conn.set_nonblocking(false).unwrap();
                return (conn, peer);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && start.elapsed() < LIMIT => {
                sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn reap_patiently(pid: u32) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = try_reap(pid).unwrap() {
            return status;
        }
        assert!(start.elapsed() < LIMIT, "worker {pid} did not exit");
        sleep(Duration::from_millis(5));
    }
}

fn listen() -> (Listener, SocketAddr) {
    let listener = bind(
        &parse_bind("127.0.0.1:0").unwrap()[0],
        &BindOptions::default(),
    )
    .unwrap();
    let BindAddr::Tcp(addr) = *listener.addr() else {
        unreachable!()
    };
    (listener, addr)
}

fn answer(addr: SocketAddr) -> String {
    let mut reply = String::new();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(LIMIT)).unwrap();
    conn.read_to_string(&mut reply).unwrap();
    reply
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = env::temp_dir().join(format!("ugn-w{}-{name}", process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn worker_accepts_on_the_listener_it_inherits_at_fd_3() {
    let (listener, addr) = listen();
    let mut cmd = worker("accept", vec![listener.fd()]);
    cmd.env.push(("UGN_TEST_FDS".into(), "1".into()));
    let pid = spawn(&cmd).unwrap();
    assert_eq!(answer(addr), "fd 3\n");
    assert_eq!(reap_patiently(pid), ExitStatus::Exited(0));
}

#[test]
fn inherited_fds_whose_numbers_collide_with_their_targets_land_in_order() {
    let (first, first_addr) = listen();
    let (second, second_addr) = listen();
    // The middle worker has them at 3 and 4 and passes them on as [4, 3].
    let pid = spawn(&worker("swap", vec![first.fd(), second.fd()])).unwrap();
    assert_eq!(answer(second_addr), "fd 3\n");
    assert_eq!(answer(first_addr), "fd 4\n");
    assert_eq!(reap_patiently(pid), ExitStatus::Exited(0));
}

#[test]
fn shell_worker_sees_a_socket_at_fd_3_and_nothing_it_was_not_given() {
    let (listener, _) = listen();
    let (other, _) = listen();
    // The master's other listeners stay close-on-exec; the shell itself never opens fd 4.
    let script = "[ -S /dev/fd/3 ] || exit 10; (: <&4) 2>/dev/null && exit 11; exit 0";
    let mut cmd = shell(script);
    cmd.inherit_fds = vec![listener.fd()];
    assert_eq!(reap_patiently(spawn(&cmd).unwrap()), ExitStatus::Exited(0));
    drop(other);
}

#[test]
fn worker_gets_args_env_and_cwd() {
    let dir = temp_dir("args");
    let out = dir.join("out");
    let mut cmd = shell(r#"printf '%s|%s|%s|%s' "$0" "$1" "$UGN_TEST_VAR" "$(pwd -P)" > "$2""#);
    cmd.args
        .extend(["name".into(), "first arg".into(), out.clone().into()]);
    cmd.env.push(("UGN_TEST_VAR".into(), "from master".into()));
    cmd.cwd = Some(dir.clone());
    assert_eq!(reap_patiently(spawn(&cmd).unwrap()), ExitStatus::Exited(0));
    let cwd = dir.canonicalize().unwrap();
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        format!("name|first arg|from master|{}", cwd.display())
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn output_becomes_stdout_and_stderr() {
    let dir = temp_dir("output");
    let log = fs::File::create(dir.join("log")).unwrap();
    let mut cmd = shell("echo out; echo err >&2");
    cmd.output = Some(std::os::fd::AsRawFd::as_raw_fd(&log));
    assert_eq!(reap_patiently(spawn(&cmd).unwrap()), ExitStatus::Exited(0));
    assert_eq!(fs::read_to_string(dir.join("log")).unwrap(), "out\nerr\n");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn setup_failures_in_the_child_come_back_as_errors() {
    let err = spawn(&WorkerCommand {
        program: "/nonexistent/node".into(),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(
        err.to_string()
            .starts_with("cannot execute /nonexistent/node: "),
        "{err}"
    );

    let err = spawn(&WorkerCommand {
        program: "no-such-ugn-worker".into(),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "no-such-ugn-worker was not found in PATH");

    let mut cmd = shell("exit 0");
    cmd.cwd = Some("/nonexistent/dir".into());
    let err = spawn(&cmd).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot start /bin/sh in /nonexistent/dir: "),
        "{err}"
    );

    let mut cmd = shell("exit 0");
    cmd.inherit_fds = vec![999_999];
    let err = spawn(&cmd).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot pass fd 999999 to /bin/sh: "),
        "{err}"
    );
}

#[test]
fn exit_codes_and_signals_are_reaped() {
    let pid = spawn(&shell("exit 3")).unwrap();
    assert_eq!(reap_patiently(pid), ExitStatus::Exited(3));

    let pid = spawn(&shell("exec sleep 30")).unwrap();
    assert_eq!(try_reap(pid).unwrap(), None);
    assert!(kill(pid, libc::SIGKILL).unwrap());
    assert_eq!(reap_patiently(pid), ExitStatus::Signaled(libc::SIGKILL));
    // Gone for good: signalling it finds no process.
    assert!(!kill(pid, libc::SIGTERM).unwrap());
    assert!(try_reap(pid).is_err());

    let pid = spawn(&shell("trap 'exit 7' TERM; while :; do sleep 0.05; done")).unwrap();
    sleep(Duration::from_millis(200));
    assert!(kill(pid, libc::SIGTERM).unwrap());
    assert_eq!(reap_patiently(pid), ExitStatus::Exited(7));
}

/// Whether `pid` is still running: a zombie waiting for a reaper that never comes (PID 1 in some
/// containers reaps nothing) counts as dead.
#[cfg(target_os = "linux")]
fn running(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Runs the "orphan" worker and returns the pid of the sleeper it left behind.
#[cfg(target_os = "linux")]
fn orphan_sleeper(name: &str, death_signal: i32) -> u32 {
    let pidfile = temp_dir(name).join("pid");
    let mut cmd = worker("orphan", vec![]);
    cmd.env
        .push(("UGN_TEST_PIDFILE".into(), pidfile.clone().into()));
    cmd.env.push((
        "UGN_TEST_DEATH_SIGNAL".into(),
        death_signal.to_string().into(),
    ));
    assert_eq!(reap_patiently(spawn(&cmd).unwrap()), ExitStatus::Exited(0));
    let pid = fs::read_to_string(&pidfile).unwrap().parse().unwrap();
    fs::remove_dir_all(pidfile.parent().unwrap()).unwrap();
    pid
}

#[cfg(target_os = "linux")]
#[test]
fn parent_death_signal_kills_the_worker_when_its_master_dies() {
    let pid = orphan_sleeper("pdeath", libc::SIGKILL);
    let start = Instant::now();
    while running(pid) {
        assert!(start.elapsed() < LIMIT, "sleeper {pid} outlived its parent");
        sleep(Duration::from_millis(10));
    }

    // Without it the sleeper outlives its parent, so the check above is not vacuous.
    let pid = orphan_sleeper("nodeath", 0);
    sleep(Duration::from_millis(200));
    assert!(running(pid));
    assert!(kill(pid, libc::SIGKILL).unwrap());
}
