//! The event loop: one `polling` poller in edge mode, timers, tasks and a DNS pool.
//!
//! Every descriptor is registered once for both directions in edge-triggered mode, so no
//! system call re-arms it per event. The reactor keeps a readiness flag per direction;
//! an I/O call that would block clears it, and the next edge sets it again.

mod dns;
mod idle;
mod source;
mod tasks;
mod timers;
mod wait;

use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::{BorrowedFd, RawFd};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::thread::ThreadStatus;
use mlua::{AnyUserData, Function, IntoLuaMulti, LightUserData, Lua, MultiValue, Table, Thread, Value};
use polling::Poller;
use slab::Slab;

pub use dns::{DnsResult, Family};
pub use source::{ByFlags, Dir, Pollable, SourceBase, Waitable};
pub use tasks::Resume;
use tasks::{Parked, Task, Tasks};
pub use timers::TimerAction;
use timers::Timers;

enum Deferred {
    Call(Function, MultiValue),
    Emit(i64, &'static str, MultiValue),
    Error(i64, String, i32),
}

/// Size of the shared read buffer every socket reads into.
pub const SCRATCH_SIZE: usize = 64 * 1024;

/// How much one source may read in one turn before others get theirs.
pub const READ_BUDGET: usize = 16;

/// Marker a task yields to ask the loop to park it (`prelude.lua` receives it as `core.WAIT`).
static WAIT_MARKER: u8 = 0;

pub fn wait_marker() -> LightUserData {
    LightUserData(&WAIT_MARKER as *const u8 as *mut std::ffi::c_void)
}

/// Wakes the reactor from another thread (the REPL's line editor, for one).
#[derive(Clone)]
pub struct Waker(Arc<Poller>);

impl Waker {
    pub fn wake(&self) {
        let _ = self.0.notify();
    }
}

/// Object ids are small distinct integers, so one multiply spreads them well enough (SipHash
/// showed up in profiles of busy streams, which re-check their anchor on every event).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_i64(&mut self, n: i64) {
        // Fibonacci hashing: the table also uses the top bits, which small ids leave empty.
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub struct Reactor {
    poller: Arc<Poller>,
    sources: RefCell<Slab<Weak<dyn Pollable>>>,
    /// Registered descriptors, so a wait can name a socket by its fd.
    fds: RefCell<std::collections::HashMap<RawFd, usize>>,
    waiter: RefCell<wait::Waiter>,
    /// Sources whose I/O stopped at the read budget; they get another turn at once.
    again: RefCell<Vec<(usize, bool, bool)>>,
    /// Streams whose last read came back short: presumed drained (their read flag is off),
    /// but a FIN that came with the data raises no new edge, so each is probed once after
    /// the next (then non-blocking) poll unless that poll brought it an event.
    verify: RefCell<Vec<usize>>,
    /// Loop turns so far (a source records the turn it was last dispatched in).
    turns: Cell<u64>,
    /// Something happened since the last idle collection (see `idle.rs`).
    active: Cell<bool>,
    pub(crate) timers: RefCell<Timers>,
    tasks: RefCell<Tasks>,
    deferred: RefCell<VecDeque<Deferred>>,
    dns: RefCell<Option<dns::DnsPool>>,
    dns_waiting: RefCell<Slab<Function>>,
    /// Lua objects by id: `objects` holds them weakly (for dispatch), `anchors` strongly
    /// while they have pending activity (which also keeps the loop alive).
    objects: Table,
    anchors: Table,
    anchored: RefCell<HashSet<i64, BuildHasherDefault<IdHasher>>>,
    next_obj: Cell<i64>,
    scratch: RefCell<Box<[u8]>>,
    /// Set by the REPL: a Ctrl-C flag that stops a blocking wait.
    interrupt: Cell<Option<&'static std::sync::atomic::AtomicBool>>,
    /// Interned event names, so emitting does not allocate.
    /// A handful of names, so a scan (usually a pointer compare) beats hashing.
    names: RefCell<Vec<(&'static str, mlua::LuaString)>>,
}

impl Reactor {
    pub fn new(lua: &Lua) -> mlua::Result<Rc<Reactor>> {
        let poller = Poller::new().map_err(mlua::Error::external)?;
        let objects = lua.create_table()?;
        let weak = lua.create_table()?;
        weak.set("__mode", "v")?;
        objects.set_metatable(Some(weak))?;
        Ok(Rc::new(Reactor {
            poller: Arc::new(poller),
            sources: RefCell::new(Slab::new()),
            fds: RefCell::new(Default::default()),
            waiter: RefCell::new(wait::Waiter::new()),
            again: RefCell::new(Vec::new()),
            verify: RefCell::new(Vec::new()),
            turns: Cell::new(0),
            active: Cell::new(true),
            timers: RefCell::new(Timers::default()),
            tasks: RefCell::new(Tasks::default()),
            deferred: RefCell::new(VecDeque::new()),
            dns: RefCell::new(None),
            dns_waiting: RefCell::new(Slab::new()),
            objects,
            anchors: lua.create_table()?,
            anchored: RefCell::new(HashSet::default()),
            next_obj: Cell::new(1),
            scratch: RefCell::new(vec![0u8; SCRATCH_SIZE].into_boxed_slice()),
            names: RefCell::new(Default::default()),
            interrupt: Cell::new(None),
        }))
    }

    // ----- objects --------------------------------------------------------------------------

    /// A fresh object id (bind it to its Lua object with [`Reactor::bind`]).
    pub fn next_id(&self) -> i64 {
        let id = self.next_obj.get();
        self.next_obj.set(id + 1);
        id
    }

    /// The Lua object with id `id`, unless it was collected.
    pub fn object(&self, id: i64) -> mlua::Result<Option<AnyUserData>> {
        Ok(match self.objects.raw_get::<Value>(id)? {
            Value::UserData(ud) => Some(ud),
            _ => None,
        })
    }

    /// Lets the loop find object `id` (weakly) to emit events to it.
    pub fn bind(&self, id: i64, ud: &AnyUserData) -> mlua::Result<()> {
        self.objects.raw_set(id, ud)
    }

    /// Anchors (or releases) object `id`: an anchored object is never collected and keeps
    /// the loop alive.
    pub fn set_anchor(&self, id: i64, on: bool) -> mlua::Result<()> {
        let changed = {
            let mut set = self.anchored.borrow_mut();
            if on { set.insert(id) } else { set.remove(&id) }
        };
        if changed {
            if on {
                let v: Value = self.objects.raw_get(id)?;
                self.anchors.raw_set(id, v)?;
            } else {
                self.anchors.raw_set(id, Value::Nil)?;
            }
        }
        Ok(())
    }

    fn name(&self, lua: &Lua, name: &'static str) -> mlua::Result<mlua::LuaString> {
        if let Some((_, s)) = self.names.borrow().iter().find(|(n, _)| *n == name) {
            return Ok(s.clone());
        }
        let s = lua.create_string(name)?;
        self.names.borrow_mut().push((name, s.clone()));
        Ok(s)
    }

    /// Calls object `id`'s handler (its user value) as `handler(event, ...)`.
    /// Objects without a handler, or already collected, ignore events.
    pub fn emit(&self, lua: &Lua, id: i64, event: &'static str, args: impl IntoLuaMulti) -> mlua::Result<()> {
        let ud: Value = self.objects.raw_get(id)?;
        let Value::UserData(ud) = ud else { return Ok(()) };
        let Ok(Value::Function(f)) = ud.user_value::<Value>() else { return Ok(()) };
        // A tuple goes straight onto the Lua stack, without building a MultiValue.
        f.call::<()>((self.name(lua, event)?, args))
    }

    /// Runs `f(args)` on a later loop turn.
    pub fn defer(&self, f: Function, args: MultiValue) {
        self.deferred.borrow_mut().push_back(Deferred::Call(f, args));
    }

    /// Emits `error`(message, errno) on a later loop turn (failures found without Lua at hand).
    pub fn defer_error(&self, id: i64, msg: String, code: i32) {
        self.deferred.borrow_mut().push_back(Deferred::Error(id, msg, code));
    }

    /// Emits an event on a later loop turn (for results known inside an API call, which
    /// must never call back re-entrantly).
    pub fn defer_emit(&self, id: i64, event: &'static str, args: MultiValue) {
        self.deferred.borrow_mut().push_back(Deferred::Emit(id, event, args));
    }

    /// Lets `flag` (set from a signal handler) interrupt blocking waits.
    pub fn set_interrupt(&self, flag: &'static std::sync::atomic::AtomicBool) {
        self.interrupt.set(Some(flag));
    }

    /// Runs `f` on the shared read buffer (or a private one if a read is already using it,
    /// as when a finalizer reads from inside another read).
    pub fn with_scratch<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        match self.scratch.try_borrow_mut() {
            Ok(mut buf) => f(&mut buf),
            Err(_) => f(&mut vec![0u8; SCRATCH_SIZE]),
        }
    }

    /// A handle other threads use to wake the loop.
    pub fn waker(&self) -> Waker {
        Waker(Arc::clone(&self.poller))
    }

    // ----- descriptors ----------------------------------------------------------------------

    /// Registers `fd` for both directions, edge-triggered, and builds its source with the key.
    pub fn register<T: Pollable + 'static>(
        self: &Rc<Self>,
        fd: RawFd,
        obj: i64,
        make: impl FnOnce(SourceBase) -> T,
    ) -> std::io::Result<Rc<T>> {
        let mut sources = self.sources.borrow_mut();
        let entry = sources.vacant_entry();
        let key = entry.key();
        let src = Rc::new(make(SourceBase::new(Rc::clone(self), key, obj, fd)));
        // SAFETY: the source owns `fd` and deregisters it (`SourceBase::close`) before closing it.
        unsafe { wait::register(&self.poller, fd, key)? };
        let weak: Weak<dyn Pollable> = Rc::downgrade(&src) as Weak<dyn Pollable>;
        entry.insert(weak);
        self.fds.borrow_mut().insert(fd, key);
        Ok(src)
    }

    pub(crate) fn deregister(&self, key: usize, fd: RawFd) {
        // SAFETY: called while the descriptor is still open (before its owner drops it).
        let _ = self.poller.delete(unsafe { BorrowedFd::borrow_raw(fd) });
        if let Ok(mut s) = self.sources.try_borrow_mut() {
            s.try_remove(key);
        }
        if let Ok(mut fds) = self.fds.try_borrow_mut() {
            if fds.get(&fd) == Some(&key) {
                fds.remove(&fd);
            }
        }
    }

    /// The live source registered for `fd`.
    pub fn source_by_fd(&self, fd: RawFd) -> Option<Rc<dyn Pollable>> {
        let key = *self.fds.borrow().get(&fd)?;
        let src = self.sources.borrow().get(key).and_then(Weak::upgrade)?;
        (!src.base().is_closed()).then_some(src)
    }

    /// Asks for another I/O pass on `key` next turn (it stopped at its read budget).
    pub fn again(&self, key: usize) {
        self.again.borrow_mut().push((key, false, false));
    }

    /// Asks for another I/O pass on `key` after `delay`, as if a read edge had come (a retry
    /// that no edge would prompt; it wakes tasks waiting to read, too).
    pub fn again_after(&self, key: usize, delay: Duration) {
        let t = self.timer_create(TimerAction::Again(key));
        self.timer_arm(t, delay);
    }

    /// Whether the poller reports a stream's hangups (`SourceBase::hangup`), so that a short
    /// read with none reported has drained a TCP stream.
    pub fn sees_hangups(&self) -> bool {
        wait::SEES_HANGUPS
    }

    /// Asks for a probe of `key` after the next poll unless that poll reports it (a short
    /// read: the read that would confirm "drained" is usually saved by the next message's
    /// edge under load, and never put off by more than one turn).
    pub fn verify(&self, key: usize) {
        self.verify.borrow_mut().push(key);
    }

    // ----- timers ---------------------------------------------------------------------------

    pub fn timer_create(&self, action: TimerAction) -> usize {
        self.timers.borrow_mut().create(action)
    }
    pub fn timer_arm(&self, id: usize, after: Duration) {
        let at = Instant::now().checked_add(after).unwrap_or_else(far_future);
        self.timers.borrow_mut().arm(id, at);
    }
    pub fn timer_disarm(&self, id: usize) {
        if let Ok(mut t) = self.timers.try_borrow_mut() {
            t.disarm(id);
        }
    }
    pub fn timer_remove(&self, id: usize) {
        if let Ok(mut t) = self.timers.try_borrow_mut() {
            t.remove(id);
        }
    }

    // ----- DNS ------------------------------------------------------------------------------

    /// Starts resolving `host`; `cb(addresses)` or `cb(nil, message, code)` runs from the loop.
    pub fn resolve(&self, host: String, family: Family, cb: Function) -> std::io::Result<()> {
        let id = self.dns_waiting.borrow_mut().insert(cb);
        let mut pool = self.dns.borrow_mut();
        let pool = pool.get_or_insert_with(|| dns::DnsPool::new(Arc::clone(&self.poller)));
        if let Err(e) = pool.submit(id, host, family) {
            self.dns_waiting.borrow_mut().try_remove(id);
            return Err(e);
        }
        Ok(())
    }

    fn deliver_dns(&self, lua: &Lua) -> mlua::Result<()> {
        loop {
            let next = match self.dns.borrow().as_ref() {
                Some(pool) => pool.results.try_recv().ok(),
                None => None,
            };
            let Some((id, result)) = next else { return Ok(()) };
            let Some(cb) = self.dns_waiting.borrow_mut().try_remove(id) else { continue };
            match result {
                Ok(ips) => {
                    let list = lua.create_sequence_from(ips.iter().map(|ip| ip.to_string()))?;
                    cb.call::<()>(list)?;
                }
                Err((msg, code)) => cb.call::<()>((Value::Nil, msg, code))?,
            }
        }
    }

    // ----- tasks ----------------------------------------------------------------------------

    /// Starts `f(args)` as a task on the next turn.
    pub fn spawn(&self, thread: Thread, args: MultiValue) -> usize {
        let mut tasks = self.tasks.borrow_mut();
        let id = tasks.all.insert(Task { thread, parked: None });
        tasks.runnable.push_back((id, Resume::Args(args)));
        id
    }

    /// Makes a parked task runnable (from readiness, a signal, close or its timeout).
    pub fn wake_task(&self, id: usize, res: Resume) {
        let parked = {
            let Ok(mut tasks) = self.tasks.try_borrow_mut() else { return };
            let Some(task) = tasks.all.get_mut(id) else { return };
            let Some(parked) = task.parked.take() else { return };
            tasks.runnable.push_back((id, res));
            parked
        };
        if let Some(timer) = parked.timer {
            self.timer_remove(timer);
        }
        if let Some(target) = parked.target {
            target.remove_waiter(id);
        }
    }

    fn park(&self, id: usize, target: Option<Rc<dyn Waitable>>, dir: Dir, timeout: Option<Duration>) {
        if let Some(t) = &target {
            match t.poll_ready(dir) {
                Some(true) => return self.requeue(id, Resume::Ready),
                None => return self.requeue(id, Resume::Closed),
                Some(false) => {}
            }
        }
        if target.is_none() && timeout.is_none() {
            // Waiting on nothing, forever: treat as a plain yield rather than hang.
            return self.requeue(id, Resume::Timeout);
        }
        let timer = timeout.map(|d| {
            let t = self.timer_create(TimerAction::WakeTask(id));
            self.timer_arm(t, d);
            t
        });
        if let Some(t) = &target {
            t.add_waiter(dir, id);
        }
        if let Some(task) = self.tasks.borrow_mut().all.get_mut(id) {
            task.parked = Some(Parked { target, timer });
        }
    }

    fn requeue(&self, id: usize, res: Resume) {
        self.tasks.borrow_mut().runnable.push_back((id, res));
    }

    fn run_tasks(&self, lua: &Lua) -> mlua::Result<()> {
        let n = self.tasks.borrow().runnable.len();
        for _ in 0..n {
            let Some((id, res)) = self.tasks.borrow_mut().runnable.pop_front() else { break };
            let Some(thread) = self.tasks.borrow().all.get(id).map(|t| t.thread.clone()) else { continue };
            let args: MultiValue = match res {
                Resume::Args(a) => a,
                Resume::Ready => true.into_lua_multi(lua)?,
                Resume::Timeout => false.into_lua_multi(lua)?,
                Resume::Closed => (Value::Nil, "closed").into_lua_multi(lua)?,
                Resume::Canceled => (Value::Nil, "canceled").into_lua_multi(lua)?,
            };
            let out = thread.resume::<MultiValue>(args);
            let out = match out {
                Ok(v) => v,
                Err(e) => {
                    self.tasks.borrow_mut().all.try_remove(id);
                    return Err(e);
                }
            };
            if thread.status() != ThreadStatus::Resumable {
                self.tasks.borrow_mut().all.try_remove(id);
                continue;
            }
            match out.front() {
                Some(Value::LightUserData(m)) if *m == wait_marker() => {
                    let target = out.get(1).and_then(|v| crate::net::waitable_of(lua, v));
                    let dir = match out.get(2) {
                        Some(Value::String(s)) if s.as_bytes().first() == Some(&b'w') => Dir::Write,
                        _ => Dir::Read,
                    };
                    let timeout = out.get(3).and_then(seconds_of);
                    self.park(id, target, dir, timeout);
                }
                _ => self.requeue(id, Resume::Args(MultiValue::new())),
            }
        }
        Ok(())
    }

    /// Waits on the main thread (not inside a task) by running the loop until `target` is
    /// ready or the timeout passes. Other sockets, timers and tasks keep being served.
    pub fn block(
        &self,
        lua: &Lua,
        target: Option<Rc<dyn Waitable>>,
        dir: Dir,
        timeout: Option<Duration>,
    ) -> mlua::Result<Resume> {
        let deadline = timeout.map(|d| Instant::now().checked_add(d).unwrap_or_else(far_future));
        let epoch = target.as_ref().map_or(0, |t| t.cancel_epoch(dir));
        loop {
            if target.as_ref().is_some_and(|t| t.cancel_epoch(dir) != epoch) {
                return Ok(Resume::Canceled);
            }
            if let Some(t) = &target {
                match t.poll_ready(dir) {
                    Some(true) => return Ok(Resume::Ready),
                    None => return Ok(Resume::Closed),
                    Some(false) => {}
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Resume::Timeout);
            }
            if target.is_none() && deadline.is_none() {
                return Ok(Resume::Timeout);
            }
            if self.interrupt.get().is_some_and(|f| f.swap(false, std::sync::atomic::Ordering::SeqCst)) {
                return Err(mlua::Error::RuntimeError("interrupted!".into()));
            }
            self.turn(lua, deadline)?;
        }
    }

    // ----- the loop -------------------------------------------------------------------------

    /// Whether anything can still produce an event.
    pub fn alive(&self) -> bool {
        !self.anchored.borrow().is_empty()
            || !self.tasks.borrow().all.is_empty()
            || !self.dns_waiting.borrow().is_empty()
            || !self.deferred.borrow().is_empty()
            || !self.again.borrow().is_empty()
        // (A pending probe alone does not count: only a watcher or a waiting task, which
        // do, would act on what it finds.)
    }

    /// Counts of live things, for tests and `core.stats()`.
    pub fn stats(&self) -> (usize, usize, usize, usize) {
        (
            self.sources.borrow().len(),
            self.anchored.borrow().len(),
            self.tasks.borrow().all.len(),
            self.timers.borrow().armed_count(),
        )
    }

    /// Runs until nothing is alive.
    pub fn run(&self, lua: &Lua) -> mlua::Result<()> {
        while self.alive() {
            self.turn(lua, None)?;
        }
        Ok(())
    }

    /// Runnable tasks, deferred calls or sources that asked for another pass: the next
    /// poll must not sleep.
    fn has_queued_work(&self) -> bool {
        !self.tasks.borrow().runnable.is_empty()
            || !self.deferred.borrow().is_empty()
            || !self.again.borrow().is_empty()
    }

    /// One loop iteration: poll (bounded by timers, `limit` and pending work), then
    /// dispatch readiness, DNS results, due timers, deferred calls and runnable tasks.
    pub fn turn(&self, lua: &Lua, limit: Option<Instant>) -> mlua::Result<()> {
        let turn = self.turns.get() + 1;
        self.turns.set(turn);
        let mut verify = std::mem::take(&mut *self.verify.borrow_mut());
        if !self.has_queued_work() && verify.len() == 1 {
            // One stream alone: probing it now costs one syscall, an empty poll first would
            // cost one more.
            self.probe(lua, &verify)?;
            verify.clear();
            if !self.alive() {
                return Ok(()); // what it found ended the last thing the loop waited for
            }
        }
        // Pending probes make this poll non-blocking: they come right after it.
        let now = Instant::now();
        let busy = self.has_queued_work() || !verify.is_empty() || !self.verify.borrow().is_empty();
        let mut until = self.timers.borrow_mut().next_deadline();
        if let Some(l) = limit {
            until = Some(until.map_or(l, |u| u.min(l)));
        }
        // After some activity, an idle loop wakes once to collect garbage.
        let mut idle_at = None;
        if !busy && self.active.get() {
            let at = now + idle::AFTER;
            if until.is_none_or(|u| u > at) {
                until = Some(at);
                idle_at = Some(at);
            }
        }
        let timeout = if busy { Some(Duration::ZERO) } else { until.map(|u| u.saturating_duration_since(now)) };

        let mut reports = Vec::new();
        self.waiter.borrow_mut().wait(&self.poller, timeout, &mut reports).map_err(mlua::Error::external)?;
        if busy || !reports.is_empty() {
            self.active.set(true);
        } else if idle_at.is_some_and(|at| Instant::now() >= at) {
            self.active.set(false);
            idle::collect(lua)?;
        }

        // Deferred results come first: they describe calls made before this turn's I/O.
        let n = self.deferred.borrow().len();
        for _ in 0..n {
            let Some(d) = self.deferred.borrow_mut().pop_front() else { break };
            match d {
                Deferred::Call(f, args) => f.call::<()>(args)?,
                Deferred::Emit(id, event, args) => self.emit(lua, id, event, args)?,
                Deferred::Error(id, msg, code) => self.emit(lua, id, "error", (msg, code))?,
            }
        }
        for r in &reports {
            if let Some(src) = self.sources.borrow().get(r.key).and_then(Weak::upgrade) {
                src.base().turn.set(turn);
                if r.hangup {
                    src.base().hangup.set(true);
                }
            }
        }
        let mut pending: Vec<(usize, bool, bool)> = std::mem::take(&mut *self.again.borrow_mut());
        pending.extend(reports.iter().map(|r| (r.key, r.readable, r.writable)));
        for (i, &(key, r, w)) in pending.iter().enumerate() {
            if let Err(e) = self.dispatch(lua, key, r, w) {
                // An edge is never seen twice: give the rest their turn next time.
                self.again.borrow_mut().extend_from_slice(&pending[i + 1..]);
                self.verify.borrow_mut().extend_from_slice(&verify);
                return Err(e);
            }
        }
        self.probe(lua, &verify)?;
        self.deliver_dns(lua)?;
        self.fire_timers(lua)?;
        self.run_tasks(lua)
    }

    /// Probes the streams of `keys` (short reads) that this turn's poll did not report; one
    /// that finds data or an EOF counts as a read edge.
    fn probe(&self, lua: &Lua, keys: &[usize]) -> mlua::Result<()> {
        let turn = self.turns.get();
        for (i, &key) in keys.iter().enumerate() {
            let src = self.sources.borrow().get(key).and_then(Weak::upgrade);
            let Some(src) = src else { continue };
            if src.base().turn.get() == turn || src.base().is_closed() || !src.probe() {
                continue;
            }
            if let Err(e) = self.dispatch(lua, key, true, false) {
                self.verify.borrow_mut().extend_from_slice(&keys[i + 1..]);
                return Err(e);
            }
        }
        Ok(())
    }

    fn dispatch(&self, lua: &Lua, key: usize, r: bool, w: bool) -> mlua::Result<()> {
        let src = self.sources.borrow().get(key).and_then(Weak::upgrade);
        let Some(src) = src else { return Ok(()) };
        if src.base().is_closed() {
            return Ok(());
        }
        src.base().mark(r, w);
        src.on_ready(lua, r, w)
    }

    fn fire_timers(&self, lua: &Lua) -> mlua::Result<()> {
        let now = Instant::now();
        // Timers armed while firing wait for the next turn, even at zero delay.
        let last = self.timers.borrow().last_seq();
        loop {
            let Some((id, action)) = self.timers.borrow_mut().pop_due(now, last) else { return Ok(()) };
            self.active.set(true);
            match action {
                TimerAction::WakeTask(task) => self.wake_task(task, Resume::Timeout),
                TimerAction::Again(key) => {
                    self.timers.borrow_mut().remove(id);
                    self.again.borrow_mut().push((key, true, false));
                }
                TimerAction::Object(obj) => crate::net::timer::fire(lua, self, obj)?,
            }
        }
    }
}

/// Keeps process signals (SIGINT above all) away from a helper thread, so they reach the
/// loop thread and interrupt its poll.
pub fn block_signals_here() {
    // SAFETY: plain sigset manipulation on local storage, applied to the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// Converts a Lua number of seconds into a duration (`nil` or NaN: none; negative: zero).
pub fn seconds_of(v: &Value) -> Option<Duration> {
    let s = match v {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        _ => return None,
    };
    if s.is_nan() {
        return None;
    }
    Some(Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::from_secs(86400 * 365 * 30)))
}
