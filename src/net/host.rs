//! Facts about the host that dialects report: process id, platform name, file info.

use mlua::{Lua, Table, Value};

/// The platform as desktop Lua hosts name it (SDL's names: "Linux", "Mac OS X", ...).
pub fn platform() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Mac OS X",
        "freebsd" => "FreeBSD",
        "openbsd" => "OpenBSD",
        "netbsd" => "NetBSD",
        "windows" => "Windows",
        "android" => "Android",
        "ios" => "iOS",
        other => other,
    }
}

/// `{type="file"|"dir", size=, modified=(seconds since the epoch)}` or `nil, message`.
pub fn file_info(lua: &Lua, path: String) -> mlua::Result<(Value, Option<String>)> {
    match std::fs::metadata(&path) {
        Ok(m) => {
            let t: Table = lua.create_table()?;
            t.set("type", if m.is_dir() { "dir" } else { "file" })?;
            t.set("size", m.len())?;
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0.0, |d| d.as_secs_f64());
            t.set("modified", modified)?;
            Ok((Value::Table(t), None))
        }
        Err(e) => Ok((Value::Nil, Some(format!("{path}: {}", super::error::message(&e))))),
    }
}
