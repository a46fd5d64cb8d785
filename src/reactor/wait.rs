//! One wait for readiness.
//!
//! `polling` registers the descriptors (edge-triggered, the source's key in the event data)
//! and owns the cross-thread notifier. Its `Poller::wait` also re-arms a timerfd and the
//! notifier around every `epoll_wait`: four more system calls per wait, which a loop that
//! polls once per message (one connection in ping-pong) pays per message. On Linux the loop
//! therefore calls `epoll_wait` on the poller's descriptor itself, with the timeout in
//! milliseconds (rounded up, so a timer is never woken early), and only when the notifier
//! fired does it go through `Poller::wait`, which clears and re-arms it.

use std::io;
use std::num::NonZeroUsize;
use std::time::Duration;

use polling::{Events, Poller};

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
    pub fn wait(
        &mut self,
        poller: &Poller,
        timeout: Option<Duration>,
        out: &mut Vec<(usize, bool, bool)>,
    ) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            self.wait_epoll(poller, timeout, out)
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.wait_polling(poller, timeout, out)
        }
    }

    fn wait_polling(
        &mut self,
        poller: &Poller,
        timeout: Option<Duration>,
        out: &mut Vec<(usize, bool, bool)>,
    ) -> io::Result<()> {
        self.events.clear();
        match poller.wait(&mut self.events, timeout) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => return Err(e),
            _ => {}
        }
        out.extend(self.events.iter().map(|e| (e.key, e.readable, e.writable)));
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn wait_epoll(
        &mut self,
        poller: &Poller,
        timeout: Option<Duration>,
        out: &mut Vec<(usize, bool, bool)>,
    ) -> io::Result<()> {
        use std::os::fd::AsRawFd;

        /// `polling`'s key for its notifier and timerfd (the largest key; ours are slab
        /// indexes and never reach it).
        const NOTIFY_KEY: u64 = usize::MAX as u64;
        // The flags `polling` maps to readable and writable.
        const READ: u32 = (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR | libc::EPOLLPRI) as u32;
        const WRITE: u32 = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;

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
                out.push((key as usize, flags & READ != 0, flags & WRITE != 0));
            }
        }
        if notified {
            self.wait_polling(poller, Some(Duration::ZERO), out)?;
        }
        Ok(())
    }
}
