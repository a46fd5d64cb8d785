//! Tasks: Lua coroutines the loop resumes. A task suspends by yielding the wait marker
//! (see `stdlib/rluanet/prelude.lua`); any other yield just gives the loop a turn.

use std::collections::VecDeque;
use std::rc::Rc;

use mlua::{MultiValue, Thread};
use slab::Slab;

use super::source::Waitable;

/// How a suspended task is resumed.
pub enum Resume {
    /// First run, or after a plain `coroutine.yield`.
    Args(MultiValue),
    /// The awaited object is ready: `wait` returns `true`.
    Ready,
    /// The deadline passed: `wait` returns `false`.
    Timeout,
    /// The awaited object was closed: `wait` returns `nil, "closed"`.
    Closed,
    /// `core.unwait` cancelled the wait: `wait` returns `nil, "canceled"`.
    Canceled,
}

/// A task parked in `wait`: what it waits on, so a timeout can unhook it.
pub struct Parked {
    pub target: Option<Rc<dyn Waitable>>,
    pub timer: Option<usize>,
}

pub struct Task {
    pub thread: Thread,
    pub parked: Option<Parked>,
}

#[derive(Default)]
pub struct Tasks {
    pub all: Slab<Task>,
    pub runnable: VecDeque<(usize, Resume)>,
}
