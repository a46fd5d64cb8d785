//! Tab completion of globals and table fields (`string.fo` → `string.format`,
//! `s:re` → methods).

use mlua::{Lua, Table, Value};

/// Candidates for `word` (a dotted/colon path with a partial last name).
pub fn candidates(lua: &Lua, word: &str) -> Vec<String> {
    let (base, sep, partial) = match word.rfind(['.', ':']) {
        Some(i) => (&word[..i], &word[i..i + 1], &word[i + 1..]),
        None => ("", "", word),
    };
    let mut table = lua.globals();
    if !base.is_empty() {
        let mut v = Value::Table(lua.globals());
        for part in base.split(['.', ':']) {
            v = match field(lua, &v, part) {
                Some(next) => next,
                None => return Vec::new(),
            };
        }
        table = match fields_of(lua, &v) {
            Some(t) => t,
            None => return Vec::new(),
        };
    }
    let mut out: Vec<String> = Vec::new();
    let mut t = Some(table);
    // Walk the table and its `__index` chain (how methods are found).
    for _ in 0..8 {
        let Some(cur) = t else { break };
        for (k, v) in cur.pairs::<Value, Value>().flatten() {
            let Value::String(k) = k else { continue };
            let Ok(k) = k.to_str() else { continue };
            if k.starts_with(partial) && (sep != ":" || matches!(v, Value::Function(_))) {
                out.push(format!("{base}{sep}{}", &*k));
            }
        }
        t = cur.metatable().and_then(|m| m.get::<Table>("__index").ok());
    }
    out.sort();
    out.dedup();
    out
}

fn field(lua: &Lua, v: &Value, name: &str) -> Option<Value> {
    let t = fields_of(lua, v)?;
    match t.get::<Value>(name) {
        Ok(Value::Nil) | Err(_) => None,
        Ok(x) => Some(x),
    }
}

/// The table to list for `v`: itself, or for userdata and strings their `__index` table.
fn fields_of(lua: &Lua, v: &Value) -> Option<Table> {
    match v {
        Value::Table(t) => Some(t.clone()),
        Value::UserData(ud) => ud.metatable().ok()?.get::<Table>("__index").ok(),
        Value::String(_) => lua.globals().get::<Table>("string").ok(),
        _ => None,
    }
}
