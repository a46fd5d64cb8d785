//! Collecting garbage while the loop idles.
//!
//! Lua collects as a script allocates, so a script that has gone quiet (a server holding
//! idle connections, a client waiting for a reply) never finishes a cycle: sockets it
//! dropped stay open, and coroutine stacks grown during a burst keep their size (a stack
//! shrinks only when a collection traverses it). After `AFTER` with nothing to do, following
//! some activity, the loop runs one full collection and gives freed memory back to the
//! system. A loop that is never idle that long has the collector's own pace.

use std::time::Duration;

use mlua::Lua;

/// How long the loop waits with nothing to do before it collects.
pub(super) const AFTER: Duration = Duration::from_secs(1);

pub(super) fn collect(lua: &Lua) -> mlua::Result<()> {
    lua.gc_collect()?;
    trim();
    Ok(())
}

/// glibc keeps freed memory for reuse; idle is the time to return it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
