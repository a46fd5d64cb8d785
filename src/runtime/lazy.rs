//! `rluanet.dialects`: the plumbing dialects' `init.lua` use at start-up, in Rust so that
//! start-up compiles no Lua for it. Globals that load their module on first use, the
//! `all`-mode `net` table (the union of several dialects' `net` functions), the platform name.

use mlua::{Function, Lua, MultiValue, Table, Value};

/// Replaces `proxy`'s contents with a copy of module `modname` and drops its metatable.
fn fill(lua: &Lua, proxy: &Table, modname: &str) -> mlua::Result<Table> {
    let require: Function = lua.globals().get("require")?;
    let module: Table = require.call(modname)?;
    proxy.set_metatable(None)?;
    for pair in module.pairs::<Value, Value>() {
        let (k, v) = pair?;
        proxy.raw_set(k, v)?;
    }
    Ok(module)
}

/// `lazy_global(name, modname)`: global `name` becomes a copy of the module the first
/// time it is touched (read, written or iterated). An existing global is left alone.
fn lazy_global(lua: &Lua, (name, modname): (String, String)) -> mlua::Result<()> {
    let globals = lua.globals();
    if !globals.raw_get::<Value>(name.as_str())?.is_nil() {
        return Ok(());
    }
    let proxy = lua.create_table()?;
    let meta = lua.create_table()?;
    let m = modname.clone();
    meta.set("__index", lua.create_function(move |lua, (t, k): (Table, Value)| fill(lua, &t, &m)?.get::<Value>(k))?)?;
    let m = modname.clone();
    meta.set(
        "__newindex",
        lua.create_function(move |lua, (t, k, v): (Table, Value, Value)| {
            fill(lua, &t, &m)?;
            t.raw_set(k, v)
        })?,
    )?;
    let m = modname;
    meta.set(
        "__pairs",
        lua.create_function(move |lua, t: Table| {
            fill(lua, &t, &m)?;
            let next: Function = lua.globals().get("next")?;
            Ok((next, t, Value::Nil))
        })?,
    )?;
    proxy.set_metatable(Some(meta))?;
    globals.raw_set(name, proxy)
}

const OWNERS: &str = "rluanet.net_owners";

/// `net_keys(modname, {key, ...})`: the global `net` (created on first use, also what
/// `require "net"` returns) answers `key` from module `modname`, loaded when first needed.
fn net_keys(lua: &Lua, (modname, keys): (String, Table)) -> mlua::Result<()> {
    let globals = lua.globals();
    let owners: Table = match lua.named_registry_value::<Option<Table>>(OWNERS)? {
        Some(t) => t,
        None => {
            let owners = lua.create_table()?;
            let union = lua.create_table()?;
            let meta = lua.create_table()?;
            let o = owners.clone();
            meta.set(
                "__index",
                lua.create_function(move |lua, (t, k): (Table, Value)| {
                    let Some(owner) = o.get::<Option<String>>(k.clone())? else { return Ok(Value::Nil) };
                    let require: Function = lua.globals().get("require")?;
                    let module: Table = require.call(owner.as_str())?;
                    // Every key of that module moves into the table at once.
                    let mine: Vec<Value> = o
                        .pairs::<Value, String>()
                        .filter_map(|p| p.ok())
                        .filter(|(_, m)| *m == owner)
                        .map(|(key, _)| key)
                        .collect();
                    for key in mine {
                        o.raw_set(key.clone(), Value::Nil)?;
                        t.raw_set(key.clone(), module.get::<Value>(key)?)?;
                    }
                    module.get::<Value>(k)
                })?,
            )?;
            union.set_metatable(Some(meta))?;
            globals.raw_set("net", union.clone())?;
            let preload: Table = globals.get::<Table>("package")?.get("preload")?;
            preload.set("net", lua.create_function(move |_, _: MultiValue| Ok(union.clone()))?)?;
            lua.set_named_registry_value(OWNERS, &owners)?;
            owners
        }
    };
    for key in keys.sequence_values::<Value>() {
        owners.raw_set(key?, modname.as_str())?;
    }
    Ok(())
}

/// The module table.
pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set("lazy_global", lua.create_function(lazy_global)?)?;
    m.set("net_keys", lua.create_function(net_keys)?)?;
    m.set("platform", crate::net::platform())?;
    Ok(m)
}
