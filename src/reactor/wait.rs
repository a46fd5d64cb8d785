//! Registering descriptors and waiting for readiness.
//!
//! `polling` owns the poller (epoll, kqueue, ...) and its cross-thread notifier. On Linux
//! the loop goes past it for the two hot operations:
//! - waiting: `Poller::wait` re-arms a timerfd and the notifier around every `epoll_wait`,
//!   four more system calls per wait, which a loop that polls once per message (one
//!   connection in ping-pong) pays per message. The loop calls `epoll_wait` on the
//!   poller's descriptor itself, with the timeout in milliseconds (rounded up, so a timer
//!   is never woken early), and goes through `Poller::wait` only when the notifier fired,
//!   so that it clears and re-arms it;
//! - registering: descriptors are added edge-triggered with `EPOLLRDHUP` and `EPOLLPRI`,
//!   which `polling` does not ask for, so a report says when a peer hung up or sent urgent
//!   data; a short TCP read on a stream with neither is known to have drained it (see
//!   `StreamSrc::unconfirmed`). Deleting still goes through `polling`.

use std::io;
use std::num::NonZeroUsize;
use std::time::Duration;

use polling::{Events, Poller};

/// One readiness report.
#[derive(Clone, Copy)]
pub(super) struct Ready {
    pub key: usize,
    pub readable: bool,
    pub writable: bool,
    /// The peer shut its side down, an error is pending or urgent data came: a short read
    /// may have left something behind.
    pub hangup: bool,
}

/// Whether reports say when a stream's peer hung up (see `Ready::hangup`).
pub(super) const SEES_HANGUPS: bool = cfg!(target_os = "linux");

/// Registers `fd` under `key` for both directions, edge-triggered.
///
/// # Safety
/// `fd` must stay open until it is deleted from the poller.
pub(super) unsafe fn register(poller: &Poller, fd: std::os::fd::RawFd, key: usize) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let flags = libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        let mut ev = libc::epoll_event { events: flags as u32, u64: key as u64 };
        // SAFETY: a valid epoll instance and event; the caller keeps `fd` open.
        if unsafe { libc::epoll_ctl(poller.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: passed on from the caller.
        unsafe { poller.add_with_mode(fd, polling::Event::all(key), polling::PollMode::Edge) }
    }
}

/// Room for this many readiness reports per wait.
const CAPACITY: usize = 1024;

pub(super) struct Waiter {
    /// What `Poller::wait` fills (elsewhere, or after a notification on Linux).
    events: Events,
    #[cfg(target_os = "linux")]
    raw: Vec<libc::epoll_event>,
}

impl Waiter {
    pub fn new() -> Self {
        Waiter {
            events: Events::with_capacity(NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN)),
            #[cfg(target_os = "linux")]
            raw: vec![libc::epoll_event { events: 0, u64: 0 }; CAPACITY],
        }
    }

    /// Waits up to `timeout` (`None`: until something happens) and appends each report as
    /// (key, readable, writable) to `out`. A signal that interrupts the wait is no error.
    pub fn wait(&mut self, poller: &Poller, timeout: Option<Duration>, out: &mut Vec<Ready>) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            self.wait_epoll(poller, timeout, out)
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.wait_polling(poller, timeout, out)
        }
    }

    fn wait_polling(&mut self, poller: &Poller, timeout: Option<Duration>, out: &mut Vec<Ready>) -> io::Result<()> {
        self.events.clear();
        match poller.wait(&mut self.events, timeout) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => return Err(e),
            _ => {}
        }
        out.extend(self.events.iter().map(|e| Ready {
            key: e.key,
            readable: e.readable,
            writable: e.writable,
            hangup: true, // unknown here: assume the worst
        }));
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn wait_epoll(&mut self, poller: &Poller, timeout: Option<Duration>, out: &mut Vec<Ready>) -> io::Result<()> {
        use std::os::fd::AsRawFd;

        /// `polling`'s key for its notifier and timerfd (the largest key; ours are slab
        /// indexes and never reach it).
        const NOTIFY_KEY: u64 = usize::MAX as u64;
        // The flags `polling` maps to readable and writable.
        const READ: u32 = (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLPRI) as u32;
        const WRITE: u32 = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;
        const HANGUP: u32 = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLPRI) as u32;

        let ms = match timeout {
            None => -1,
            Some(d) => i32::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX),
        };
        let cap = i32::try_from(self.raw.len()).unwrap_or(i32::MAX);
        // SAFETY: `raw` holds `cap` writable epoll_event slots; the descriptor is the
        // poller's epoll instance, alive as long as `poller`.
        let n = unsafe { libc::epoll_wait(poller.as_raw_fd(), self.raw.as_mut_ptr(), cap, ms) };
        let Ok(n) = usize::try_from(n) else {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(()) } else { Err(e) };
        };
        let mut notified = false;
        for ev in &self.raw[..n] {
            let (flags, key) = (ev.events, ev.u64);
            if key == NOTIFY_KEY {
                notified = true;
            } else {
                out.push(Ready {
                    key: key as usize,
                    readable: flags & (READ | HANGUP) != 0,
                    writable: flags & WRITE != 0,
                    hangup: flags & HANGUP != 0,
                });
            }
        }
        if notified {
            self.wait_polling(poller, Some(Duration::ZERO), out)?;
        }
        Ok(())
    }
}
