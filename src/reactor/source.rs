//! What the reactor knows about a registered descriptor: readiness flags and waiting tasks.

use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::rc::Rc;

use mlua::Lua;

use super::Reactor;

/// A direction a task can wait for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    Read,
    Write,
}

/// Anything a task (or a blocking call) can wait on.
pub trait Waitable {
    /// `Some(true)` ready, `Some(false)` not yet, `None` closed (the wait is cancelled).
    fn poll_ready(&self, dir: Dir) -> Option<bool>;
    fn add_waiter(&self, dir: Dir, task: usize);
    fn remove_waiter(&self, task: usize);
    /// Bumped by every `unwait` of direction `dir`: a blocking wait that sees it change was
    /// cancelled.
    fn cancel_epoch(&self, _dir: Dir) -> u64 {
        0
    }
}

/// A descriptor registered with the poller. Kinds (stream, listener, datagram) implement
/// `on_ready` to do their I/O; the reactor only routes readiness to them.
pub trait Pollable {
    fn base(&self) -> &SourceBase;
    /// What a wait on this source's descriptor waits on.
    fn waitable(self: Rc<Self>) -> Rc<dyn Waitable>;
    /// Called from the loop after the poller reported readiness (flags already updated).
    fn on_ready(&self, lua: &Lua, readable: bool, writable: bool) -> mlua::Result<()>;
    /// For a source in `Reactor::verify`: whether a read now would find data or an EOF
    /// (then the loop treats it as a read edge).
    fn probe(&self) -> bool {
        true
    }
}

/// State every registered descriptor shares.
pub struct SourceBase {
    pub reactor: Rc<Reactor>,
    /// Key in the poller and the reactor's source table.
    pub key: usize,
    /// Key of the Lua object in the reactor's object tables.
    pub obj: i64,
    pub fd: RawFd,
    readable: Cell<bool>,
    writable: Cell<bool>,
    closed: Cell<bool>,
    waiters: RefCell<Vec<(Dir, usize)>>,
    /// Cancel counters for reads and writes.
    cancels: [Cell<u64>; 2],
    /// The loop turn whose poll last reported this source.
    pub(super) turn: Cell<u64>,
    /// The poller reported a hangup, an error or urgent data for it (see `Reactor::sees_hangups`).
    pub(super) hangup: Cell<bool>,
}

impl SourceBase {
    pub(super) fn new(reactor: Rc<Reactor>, key: usize, obj: i64, fd: RawFd) -> Self {
        SourceBase {
            reactor,
            key,
            obj,
            fd,
            readable: Cell::new(false),
            writable: Cell::new(false),
            closed: Cell::new(false),
            waiters: RefCell::new(Vec::new()),
            cancels: [Cell::new(0), Cell::new(0)],
            turn: Cell::new(0),
            hangup: Cell::new(false),
        }
    }

    /// Whether a hangup, an error or urgent data was reported, or could have gone unseen.
    pub fn hangup_possible(&self) -> bool {
        self.hangup.get() || !self.reactor.sees_hangups()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }
    pub fn readable(&self) -> bool {
        self.readable.get()
    }
    pub fn writable(&self) -> bool {
        self.writable.get()
    }
    /// An I/O call said "would block": wait for the next edge.
    pub fn clear(&self, dir: Dir) {
        match dir {
            Dir::Read => self.readable.set(false),
            Dir::Write => self.writable.set(false),
        }
    }

    /// Records readiness from the poller and wakes the tasks waiting for it.
    pub fn mark(&self, readable: bool, writable: bool) {
        if readable {
            self.readable.set(true);
        }
        if writable {
            self.writable.set(true);
        }
        self.wake(|d| (d == Dir::Read && readable) || (d == Dir::Write && writable), true);
    }

    /// Cancels the waits in direction `dir` (both when `None`): they return "canceled".
    pub fn cancel(&self, dir: Option<Dir>) {
        for (d, c) in [(Dir::Read, &self.cancels[0]), (Dir::Write, &self.cancels[1])] {
            if dir.is_none_or(|want| want == d) {
                c.set(c.get() + 1);
            }
        }
        let woken: Vec<usize> = {
            let Ok(mut ws) = self.waiters.try_borrow_mut() else { return };
            let mut out = Vec::new();
            ws.retain(|&(d, t)| {
                if dir.is_none_or(|want| want == d) {
                    out.push(t);
                    false
                } else {
                    true
                }
            });
            out
        };
        for t in woken {
            self.reactor.wake_task(t, super::Resume::Canceled);
        }
    }

    pub fn cancel_count(&self, dir: Dir) -> u64 {
        self.cancels[if dir == Dir::Read { 0 } else { 1 }].get()
    }

    fn wake(&self, which: impl Fn(Dir) -> bool, ready: bool) {
        let woken: Vec<usize> = {
            let Ok(mut ws) = self.waiters.try_borrow_mut() else { return };
            let mut out = Vec::new();
            ws.retain(|&(d, t)| {
                if which(d) {
                    out.push(t);
                    false
                } else {
                    true
                }
            });
            out
        };
        for t in woken {
            let res = if ready { super::Resume::Ready } else { super::Resume::Closed };
            self.reactor.wake_task(t, res);
        }
    }

    /// Closes the registration: the poller forgets the fd and waiters are cancelled.
    /// The caller drops the descriptor afterwards.
    pub fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.reactor.deregister(self.key, self.fd);
        self.wake(|_| true, false);
    }
}

impl Waitable for SourceBase {
    fn poll_ready(&self, dir: Dir) -> Option<bool> {
        if self.closed.get() {
            return None;
        }
        Some(match dir {
            Dir::Read => self.readable.get(),
            Dir::Write => self.writable.get(),
        })
    }
    fn add_waiter(&self, dir: Dir, task: usize) {
        self.waiters.borrow_mut().push((dir, task));
    }
    fn remove_waiter(&self, task: usize) {
        if let Ok(mut ws) = self.waiters.try_borrow_mut() {
            ws.retain(|&(_, t)| t != task);
        }
    }
}

/// Waiting on a source with no readiness rules of its own: its flags decide.
pub struct ByFlags(pub Rc<dyn Pollable>);

impl Waitable for ByFlags {
    fn poll_ready(&self, dir: Dir) -> Option<bool> {
        self.0.base().poll_ready(dir)
    }
    fn add_waiter(&self, dir: Dir, task: usize) {
        self.0.base().add_waiter(dir, task)
    }
    fn remove_waiter(&self, task: usize) {
        self.0.base().remove_waiter(task)
    }
    fn cancel_epoch(&self, dir: Dir) -> u64 {
        self.0.base().cancel_count(dir)
    }
}
