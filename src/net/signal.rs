//! `core.signal()`: a one-shot event tasks can wait on. `sig:set(...)` stores values and
//! wakes every waiter; `sig:get()` returns them. Blocking-style wrappers use it to wait
//! for callback-based results (DNS, for one).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mlua::{AnyUserData, MultiValue, UserData, UserDataMethods, Value};

use super::reactor_of;
use crate::reactor::{Dir, Reactor, Resume, Waitable};

pub struct SignalInner {
    reactor: Rc<Reactor>,
    set: Cell<bool>,
    waiters: RefCell<Vec<usize>>,
}

pub struct Signal(pub Rc<SignalInner>);

impl Waitable for SignalInner {
    fn poll_ready(&self, _: Dir) -> Option<bool> {
        Some(self.set.get())
    }
    fn add_waiter(&self, _: Dir, task: usize) {
        self.waiters.borrow_mut().push(task);
    }
    fn remove_waiter(&self, task: usize) {
        if let Ok(mut w) = self.waiters.try_borrow_mut() {
            w.retain(|&t| t != task);
        }
    }
}

impl UserData for Signal {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_function("set", |lua, (ud, args): (AnyUserData, MultiValue)| {
            let s = Rc::clone(&ud.borrow::<Signal>()?.0);
            let values = lua.create_sequence_from(args.iter().cloned())?;
            values.set("n", args.len())?;
            ud.set_user_value(values)?;
            s.set.set(true);
            let woken = std::mem::take(&mut *s.waiters.borrow_mut());
            for t in woken {
                s.reactor.wake_task(t, Resume::Ready);
            }
            Ok(())
        });
        m.add_function("get", |_, ud: AnyUserData| {
            let Value::Table(t) = ud.user_value::<Value>()? else { return Ok(MultiValue::new()) };
            let n: usize = t.get("n")?;
            (1..=n).map(|i| t.raw_get::<Value>(i)).collect::<mlua::Result<MultiValue>>()
        });
        m.add_method("is_set", |_, s, ()| Ok(s.0.set.get()));
        m.add_function("reset", |_, ud: AnyUserData| {
            ud.borrow::<Signal>()?.0.set.set(false);
            ud.set_user_value(Value::Nil)
        });
    }
}

pub fn create(lua: &mlua::Lua) -> mlua::Result<Signal> {
    Ok(Signal(Rc::new(SignalInner {
        reactor: reactor_of(lua)?,
        set: Cell::new(false),
        waiters: RefCell::new(Vec::new()),
    })))
}

pub fn waitable(ud: &AnyUserData) -> Option<Rc<dyn Waitable>> {
    ud.borrow::<Signal>().ok().map(|s| Rc::clone(&s.0) as Rc<dyn Waitable>)
}
