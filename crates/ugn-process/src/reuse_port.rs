//! `--reuse-port`: every worker accepts from a listening socket of its own instead of sharing
//! one, and the kernel spreads new connections over the sockets of the address's SO_REUSEPORT
//! group by a hash of each connection's addresses and ports.
//!
//! The master keeps the address with a reservation: a socket bound with SO_REUSEPORT that never
//! listens. The kernel routes connections to listening sockets only, so the reservation takes
//! none (a listening socket nobody accepts from would swallow its share of the connections), yet
//! it holds the port, and the port the kernel chose for `:0`, while worker sockets come and go.
//! The master opens the worker sockets too, as root if need be, before workers drop privileges.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

use crate::bind::{
    adopt, bound_tcp_socket, check_stream_socket, int_option, invalid_fd, local_tcp_addr, Listener,
};

impl Listener {
    /// A new listening socket in this reservation's SO_REUSEPORT group, for one worker.
    pub fn open_worker_socket(&self) -> io::Result<Listener> {
        let (addr, backlog) = self.reserved()?;
        let socket = bound_tcp_socket(addr, true)?;
        socket.listen(backlog)?;
        socket.set_nonblocking(true)?;
        Ok(Listener::tcp(socket.into(), addr, None))
    }

    /// Takes over `fd`, inherited from the master this one upgrades, once it is checked to be a
    /// listening socket of this reservation's group.
    pub fn adopt_worker_socket(&self, fd: RawFd) -> io::Result<Listener> {
        let (addr, _) = self.reserved()?;
        check_stream_socket(fd)?;
        let listening = int_option(fd, libc::SO_ACCEPTCONN)? != 0;
        if !listening
            || int_option(fd, libc::SO_REUSEPORT)? == 0
            || local_tcp_addr(fd)? != Some(addr)
        {
            return Err(invalid_fd(
                fd,
                &format!("is not a listening socket of {}", self.local_url()),
            ));
        }
        adopt(fd, 0)
    }

    fn reserved(&self) -> io::Result<(SocketAddr, i32)> {
        let not_reserved = || invalid_fd(self.fd(), "is not a --reuse-port reservation");
        let backlog = self.worker_backlog.ok_or_else(not_reserved)?;
        let addr = local_tcp_addr(self.fd())?.ok_or_else(not_reserved)?;
        Ok((addr, backlog))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, TcpStream};
    use std::os::fd::{AsRawFd, IntoRawFd};

    use socket2::{Domain, Socket, Type};

    use crate::address::BindAddr;
    use crate::bind::{bind, BindOptions};

    use super::*;

    const REUSE_PORT: BindOptions = BindOptions {
        backlog: 64,
        reuse_port: true,
        umask: 0,
    };

    fn reserve() -> (Listener, SocketAddr) {
        let reservation =
            bind(&BindAddr::Tcp((Ipv4Addr::LOCALHOST, 0).into()), &REUSE_PORT).unwrap();
        let BindAddr::Tcp(addr) = *reservation.addr() else {
            panic!()
        };
        (reservation, addr)
    }

    /// Which of `listeners` accepts the connection just made (polling, since they do not block).
    fn acceptor(listeners: &[&Listener]) -> usize {
        let mut pfds: Vec<_> = listeners
            .iter()
            .map(|l| libc::pollfd {
                fd: l.fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        assert_eq!(
            unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, 5000) },
            1
        );
        let at = pfds
            .iter()
            .position(|p| p.revents & libc::POLLIN != 0)
            .unwrap();
        let conn = unsafe { libc::accept(pfds[at].fd, std::ptr::null_mut(), std::ptr::null_mut()) };
        assert!(conn >= 0, "{}", io::Error::last_os_error());
        unsafe { libc::close(conn) };
        at
    }

    #[test]
    fn a_reservation_holds_the_port_without_taking_connections() {
        let (reservation, addr) = reserve();
        assert!(reservation.is_reservation());
        assert_ne!(addr.port(), 0);
        assert_eq!(reservation.local_url(), format!("http://{addr}"));
        assert_eq!(
            int_option(reservation.fd(), libc::SO_ACCEPTCONN).unwrap(),
            0
        );
        assert_eq!(
            TcpStream::connect(addr).unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
        let squatter = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        assert_eq!(
            squatter.bind(&addr.into()).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
    }

    #[test]
    fn worker_sockets_share_the_port_and_the_connections() {
        let (reservation, addr) = reserve();
        let a = reservation.open_worker_socket().unwrap();
        let b = reservation.open_worker_socket().unwrap();
        for socket in [&a, &b] {
            assert!(!socket.is_reservation());
            assert_eq!(socket.local_url(), reservation.local_url());
            assert_eq!(int_option(socket.fd(), libc::SO_ACCEPTCONN).unwrap(), 1);
            assert_ne!(
                unsafe { libc::fcntl(socket.fd(), libc::F_GETFL) } & libc::O_NONBLOCK,
                0
            );
        }
        let mut counts = HashMap::new();
        for _ in 0..64 {
            let _client = TcpStream::connect(addr).unwrap();
            *counts.entry(acceptor(&[&a, &b])).or_insert(0) += 1;
        }
        // Each connection's source port is new, so the hash sends both sockets a share.
        assert_eq!(counts.len(), 2, "{counts:?}");

        drop(a);
        for _ in 0..8 {
            let _client = TcpStream::connect(addr).unwrap();
            assert_eq!(acceptor(&[&b]), 0);
        }
        drop(b);
        assert_eq!(
            TcpStream::connect(addr).unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
        let again = reservation.open_worker_socket().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        assert_eq!(acceptor(&[&again]), 0);
    }

    #[test]
    fn an_inherited_reservation_and_its_worker_sockets_are_adopted() {
        let (reservation, addr) = reserve();
        let worker = reservation.open_worker_socket().unwrap();
        let other = bind(
            &BindAddr::Tcp((Ipv4Addr::LOCALHOST, 0).into()),
            &BindOptions::default(),
        )
        .unwrap();

        let inherited = bind(&BindAddr::Fd(reservation.fd.into_raw_fd()), &REUSE_PORT).unwrap();
        assert!(inherited.is_reservation());
        assert_eq!(inherited.local_url(), format!("http://{addr}"));
        for refused in [other.fd(), inherited.fd()] {
            let err = inherited.adopt_worker_socket(refused).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("fd {refused} is not a listening socket of http://{addr}")
            );
        }
        let adopted = inherited
            .adopt_worker_socket(worker.fd.into_raw_fd())
            .unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        assert_eq!(acceptor(&[&adopted]), 0);
    }

    #[test]
    fn only_a_reservation_opens_worker_sockets() {
        let listener = bind(
            &BindAddr::Tcp((Ipv4Addr::LOCALHOST, 0).into()),
            &BindOptions::default(),
        )
        .unwrap();
        let err = listener.open_worker_socket().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("fd {} is not a --reuse-port reservation", listener.fd())
        );
        // A bound socket without SO_REUSEPORT that does not listen is neither.
        let bound = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        bound
            .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .unwrap();
        let err = bind(&BindAddr::Fd(bound.as_raw_fd()), &REUSE_PORT).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is a socket that is not listening"),
            "{err}"
        );
    }
}
