//! The embedded `stdlib/` tree and the `require` searcher that serves it.

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, MultiValue, Table, Value};

mod files {
    include!(concat!(env!("OUT_DIR"), "/stdlib_files.rs"));
}

/// The embedded source of module `name`, if any.
pub fn source(name: &str) -> Option<&'static str> {
    files::FILES.iter().find(|(n, ..)| *n == name).map(|(_, _, s, _)| *s)
}

/// Whether any embedded module lives under `prefix` (e.g. a dialect folder).
pub fn has_package(prefix: &str) -> bool {
    files::FILES.iter().any(|(n, ..)| *n == prefix || n.strip_prefix(prefix).is_some_and(|r| r.starts_with('.')))
}

/// Loads embedded module `name` as a function (not yet run): its precompiled bytecode when
/// the build made some, else its source.
pub fn load(lua: &Lua, name: &str) -> mlua::Result<Option<Function>> {
    let Some((_, chunk, src, bytecode)) = files::FILES.iter().find(|(n, ..)| *n == name) else {
        return Ok(None);
    };
    if let Some(bc) = bytecode {
        if let Ok(f) = lua.load(*bc).set_mode(ChunkMode::Binary).into_function() {
            return Ok(Some(f));
        }
    }
    lua.load(*src).set_name(*chunk).into_function().map(Some)
}

/// Installs a searcher (right after `package.preload`) that finds `name` as an embedded
/// module, first under each of `roots` (`root.name`), then as itself.
pub fn install_searcher(lua: &Lua, roots: Table) -> mlua::Result<()> {
    let package: Table = lua.globals().get("package")?;
    let searchers: Table = package.get("searchers")?;
    let searcher = lua.create_function(move |lua, name: String| {
        let mut candidates = Vec::new();
        for root in roots.sequence_values::<String>() {
            candidates.push(format!("{}.{name}", root?));
        }
        candidates.push(name.clone());
        for c in candidates {
            if let Some(f) = load(lua, &c)? {
                let mut out = MultiValue::new();
                out.push_back(Value::Function(f));
                out.push_back(Value::String(lua.create_string(format!("stdlib:{c}"))?));
                return Ok(out);
            }
        }
        let mut out = MultiValue::new();
        out.push_back(Value::String(lua.create_string(format!("no embedded module '{name}'"))?));
        Ok(out)
    })?;
    searchers.raw_insert(2, searcher)
}
