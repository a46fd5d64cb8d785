//! Errors as the reference `lua` reports them: the message (or `(error object is a X
//! value)`), then a traceback from where the error was raised.

use mlua::{Error, Function, Lua, MultiValue, Value};

const HANDLER: &str = "rluanet.msgh";
const XPCALL: &str = "rluanet.xpcall";

/// Text of an error that reached Rust (a loop callback, a load failure).
pub fn error_text(e: &Error) -> String {
    match e {
        Error::RuntimeError(s) => s.clone(),
        Error::SyntaxError { message, .. } => message.clone(),
        Error::MemoryError(_) => "not enough memory".into(),
        Error::CallbackError { traceback, cause } => {
            let inner = error_text(cause);
            if inner.contains("stack traceback:") { inner } else { format!("{inner}\n{traceback}") }
        }
        Error::WithContext { context, cause } => format!("{context}: {}", error_text(cause)),
        other => other.to_string(),
    }
}

/// The message of an error raised by the runtime's own (Rust) functions, without the
/// traceback mlua attaches to it.
fn root_message(e: &Error) -> String {
    match e {
        Error::CallbackError { cause, .. } => root_message(cause),
        Error::WithContext { context, cause } => format!("{context}: {}", root_message(cause)),
        Error::RuntimeError(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `short_src:line: ` of the innermost Lua function on the stack: where a script called
/// the function that raised (what luaL_error would put in front of its message).
fn script_position(lua: &Lua) -> String {
    for level in 1..16 {
        let found = lua.inspect_stack(level, |d| {
            d.current_line().filter(|&l| l > 0).map(|l| {
                let src = d.source().short_src.map(|s| s.into_owned()).unwrap_or_else(|| "?".into());
                format!("{src}:{l}: ")
            })
        });
        match found {
            None => break,
            Some(Some(p)) => return p,
            Some(None) => {}
        }
    }
    String::new()
}

/// The message handler, in Rust so start-up compiles no Lua for it.
fn handle(lua: &Lua, msg: Value) -> String {
    let text = match &msg {
        Value::String(s) => s.to_string_lossy(),
        Value::Integer(_) | Value::Number(_) => msg.to_string().unwrap_or_default(),
        Value::Error(e) => format!("{}{}", script_position(lua), root_message(e)),
        Value::Table(t) if t.metatable().is_some_and(|m| m.contains_key("__tostring").unwrap_or(false)) => {
            msg.to_string().unwrap_or_default()
        }
        Value::UserData(_) => match msg.to_string() {
            Ok(s) if !s.starts_with("userdata: ") => s,
            _ => "(error object is a userdata value)".into(),
        },
        other => format!("(error object is a {} value)", other.type_name()),
    };
    let tb = match lua.traceback(Some(&text), 1) {
        Ok(t) => t.to_string_lossy(),
        Err(_) => return text,
    };
    // The runtime's own xpcall is not the script's business: end as `lua` does.
    match tb.find("\n\t[C]: in function 'xpcall'") {
        Some(i) => format!("{}\n\t[C]: in ?", &tb[..i]),
        None => tb,
    }
}

pub fn install(lua: &Lua) -> mlua::Result<()> {
    let xpcall: Function = lua.globals().get("xpcall")?;
    lua.set_named_registry_value(XPCALL, xpcall)?;
    let handler = lua.create_function(|lua, msg: Value| Ok(handle(lua, msg)))?;
    lua.set_named_registry_value(HANDLER, handler)
}

/// Calls `f(args)` under the handler: the results, or the reported error text.
pub fn protected_call(lua: &Lua, f: &Function, args: MultiValue) -> Result<MultiValue, String> {
    let (Ok(xpcall), Ok(handler)) =
        (lua.named_registry_value::<Function>(XPCALL), lua.named_registry_value::<Function>(HANDLER))
    else {
        return f.call::<MultiValue>(args).map_err(|e| error_text(&e));
    };
    let mut argv = args;
    argv.push_front(Value::Function(handler));
    argv.push_front(Value::Function(f.clone()));
    let mut out = xpcall.call::<MultiValue>(argv).map_err(|e| error_text(&e))?;
    match out.pop_front() {
        Some(Value::Boolean(true)) => Ok(out),
        _ => Err(match out.pop_front() {
            Some(Value::String(s)) => s.to_string_lossy(),
            Some(other) => other.to_string().unwrap_or_else(|_| "unknown error".into()),
            None => "unknown error".into(),
        }),
    }
}
