//! The `rlua-net` executable. It enters through C's `main` rather than Rust's runtime
//! start-up, which would spend a tenth of an empty script's start-up reading
//! /proc/self/maps to place a stack guard: Lua bounds its own C recursion, and the runtime
//! ignores SIGPIPE itself (`runtime::system`).
#![no_main]

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    rlua_net::cli::main()
}
