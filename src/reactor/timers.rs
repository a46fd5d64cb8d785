//! A timer wheel in its simplest form: a binary heap of deadlines with lazy cancellation.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use slab::Slab;

/// What happens when a timer is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerAction {
    /// Emit `"timer"` to the Lua object with this key.
    Object(i64),
    /// Resume a waiting task with a timeout.
    WakeTask(usize),
    /// Give the source with this key another pass, once (then the timer is removed).
    Again(usize),
}

struct Entry {
    action: TimerAction,
    /// The arming number of the live heap entry; any other entry for this slot is stale.
    /// Arming numbers never repeat, so a reused slot cannot revive an old deadline.
    armed_as: u64,
    armed: bool,
}

#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    entries: Slab<Entry>,
    seq: u64,
    armed: usize,
}

impl Timers {
    pub fn create(&mut self, action: TimerAction) -> usize {
        self.entries.insert(Entry { action, armed_as: 0, armed: false })
    }

    /// Arms (or re-arms) timer `id` for `at`. Timers due at the same instant fire in arming order.
    pub fn arm(&mut self, id: usize, at: Instant) {
        let Some(e) = self.entries.get_mut(id) else { return };
        self.seq += 1;
        e.armed_as = self.seq;
        if !e.armed {
            e.armed = true;
            self.armed += 1;
        }
        self.heap.push(Reverse((at, self.seq, id)));
    }

    pub fn disarm(&mut self, id: usize) {
        if let Some(e) = self.entries.get_mut(id) {
            if e.armed {
                e.armed = false;
                self.armed -= 1;
            }
        }
    }

    pub fn remove(&mut self, id: usize) {
        self.disarm(id);
        self.entries.try_remove(id);
    }

    pub fn is_armed(&self, id: usize) -> bool {
        self.entries.get(id).is_some_and(|e| e.armed)
    }

    pub fn armed_count(&self) -> usize {
        self.armed
    }

    /// The earliest live deadline, dropping stale heap entries on the way.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, seq, id))) = self.heap.peek().copied() {
            match self.entries.get(id) {
                Some(e) if e.armed && e.armed_as == seq => return Some(at),
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }

    /// The arming sequence number of the newest timer.
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// Pops one timer due at or before `now` and armed at or before `last`, disarming it.
    pub fn pop_due(&mut self, now: Instant, last: u64) -> Option<(usize, TimerAction)> {
        let at = self.next_deadline()?;
        let Reverse((_, seq, _)) = self.heap.peek().copied()?;
        if at > now || seq > last {
            return None;
        }
        let Reverse((_, _, id)) = self.heap.pop()?;
        let e = self.entries.get_mut(id)?;
        e.armed = false;
        self.armed -= 1;
        Some((id, e.action))
    }
}
