//! Lua timers: `core.timer()` → `t:start(delay [, interval])`, `t:stop()`, `t:on(fn)`.
//! An armed timer is anchored (survives `t = nil`) and keeps the loop alive.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use mlua::{AnyUserData, Lua, UserData, UserDataMethods, Value};

use super::error::misuse;
use super::reactor_of;
use crate::reactor::{Reactor, TimerAction, seconds_of};

pub struct Timer {
    reactor: Rc<Reactor>,
    obj: i64,
    id: usize,
    interval: Cell<Option<Duration>>,
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.reactor.timer_remove(self.id);
    }
}

fn seconds(v: &Value, what: &str) -> mlua::Result<Duration> {
    match v {
        Value::Integer(_) | Value::Number(_) => {
            seconds_of(v).ok_or_else(|| misuse(format!("{what} must be a number of seconds")))
        }
        other => Err(misuse(format!("{what} must be a number of seconds (got {})", other.type_name()))),
    }
}

impl UserData for Timer {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_function("on", |_, (ud, f): (AnyUserData, Option<mlua::Function>)| ud.set_user_value(f));
        m.add_method("start", |_, t, (delay, interval): (Value, Value)| {
            let delay = seconds(&delay, "timer delay")?;
            let interval = match interval {
                Value::Nil => None,
                v => Some(seconds(&v, "timer interval")?),
            };
            t.interval.set(interval);
            t.reactor.timer_arm(t.id, delay);
            t.reactor.set_anchor(t.obj, true)
        });
        m.add_method("stop", |_, t, ()| {
            let was = t.reactor.timers.borrow().is_armed(t.id);
            t.reactor.timer_disarm(t.id);
            t.reactor.set_anchor(t.obj, false)?;
            Ok(was)
        });
        m.add_method("is_armed", |_, t, ()| Ok(t.reactor.timers.borrow().is_armed(t.id)));
        m.add_meta_method(mlua::MetaMethod::ToString, |_, t, ()| Ok(format!("rluanet.timer: {}", t.obj)));
    }
}

/// `core.timer()`
pub fn create(lua: &Lua) -> mlua::Result<AnyUserData> {
    let reactor = reactor_of(lua)?;
    let obj = reactor.next_id();
    let id = reactor.timer_create(TimerAction::Object(obj));
    let ud = lua.create_userdata(Timer { reactor: Rc::clone(&reactor), obj, id, interval: Cell::new(None) })?;
    reactor.bind(obj, &ud)?;
    Ok(ud)
}

/// A timer came due: re-arm a repeating one (before the handler, which may stop it),
/// release a one-shot one, then emit `timer`.
pub fn fire(lua: &Lua, reactor: &Reactor, obj: i64) -> mlua::Result<()> {
    let Some(ud) = reactor.object(obj)? else { return Ok(()) };
    let Ok(t) = ud.borrow::<Timer>() else { return Ok(()) };
    match t.interval.get() {
        Some(every) => reactor.timer_arm(t.id, every),
        None => reactor.set_anchor(obj, false)?,
    }
    drop(t);
    reactor.emit(lua, obj, "timer", ())
}
