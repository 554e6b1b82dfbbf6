//! The raw-socket side of wire faults.
//!
//! Each connection carries a duplicate of its socket (set up in `on_connect_ext`), which lets
//! the HTTP layer set `SO_LINGER` to zero (RST on close), write raw bytes past actix's encoder,
//! or wait for the client to hang up. Which fault to play, and how it looks to a client, is
//! decided in `crate::http::respond`.

use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

/// The duplicated socket of a connection.
#[derive(Clone)]
pub struct ConnSocket(Rc<OwnedFd>);

impl ConnSocket {
    /// Duplicates the connection's socket (the `on_connect_ext` hook).
    pub fn of(io: &impl std::os::fd::AsFd) -> Option<Self> {
        io.as_fd()
            .try_clone_to_owned()
            .ok()
            .map(|fd| ConnSocket(Rc::new(fd)))
    }

    fn sock(&self) -> socket2::SockRef<'_> {
        socket2::SockRef::from(self.0.as_ref())
    }

    /// Makes closing the connection send a TCP RST instead of a FIN (`SO_LINGER` zero).
    pub fn reset_on_close(&self) {
        let _ = self.sock().set_linger(Some(Duration::ZERO));
    }

    /// Resolves once the peer has closed (FIN or RST) its side of the connection; looks every
    /// 200 ms with a non-consuming peek on the (non-blocking) socket, so nothing is read.
    pub async fn closed_by_peer(&self) {
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        loop {
            actix_rt::time::sleep(Duration::from_millis(200)).await;
            match self.sock().peek(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(err)
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    }
}

impl ConnSocket {
    /// Writes `bytes` on the raw socket, past actix's encoder (non-blocking: retried briefly
    /// while the buffer is full).
    pub async fn write_raw(&self, mut bytes: &[u8]) {
        let sock = self.sock();
        let mut tries = 0;
        while !bytes.is_empty() && tries < 200 {
            match (&*sock).write(bytes) {
                Ok(0) => return,
                Ok(n) => bytes = &bytes[n..],
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    tries += 1;
                    actix_rt::time::sleep(Duration::from_millis(5)).await;
                }
                Err(_) => return,
            }
        }
    }
}
