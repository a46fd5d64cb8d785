//! rlua-net: a standalone Lua 5.4 runtime with batteries-included networking.
//!
//! Layers, bottom up (see `docs/architecture.md`):
//! - [`reactor`]: one `polling` reactor with timers, tasks (coroutines) and a DNS pool.
//!   It knows file descriptors and Lua functions, nothing about sockets' protocols.
//! - [`net`]: the internal Lua module `rluanet.core` — TCP, UDP, Unix, TLS, DNS, timers —
//!   that every dialect builds on. It knows nothing about dialects.
//! - [`runtime`]: one Lua state with the core, the embedded `stdlib/` and dialect selection.
//! - [`cli`] and [`repl`]: the `rlua-net` command.

pub mod cli;
pub mod net;
pub mod reactor;
pub mod repl;
pub mod runtime;

pub use mlua;
pub use runtime::{Dialect, Options, Runtime};
