//! One Lua state with the standard libraries, the core module (loaded on first
//! `require`), the embedded `stdlib/` and the selected dialect's globals.

pub mod dialect;
mod report;
pub mod stdlib;
mod system;

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

pub use dialect::Dialect;
pub use report::error_text;
pub use system::{raise_fd_limit, tls_library_version};

/// How a runtime is set up.
#[derive(Clone, Debug)]
pub struct Options {
    pub dialect: Dialect,
    /// `-W`: warnings start on.
    pub warnings: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { dialect: Dialect::All, warnings: false }
    }
}

pub struct Runtime {
    lua: Lua,
}

/// The Lua release this binary embeds, e.g. "Lua 5.4.9".
pub fn lua_release() -> String {
    unsafe extern "C" {
        static lua_ident: std::ffi::c_char;
    }
    // SAFETY: `lua_ident` is a NUL-terminated string in the Lua library we link.
    let ident = unsafe { std::ffi::CStr::from_ptr(&raw const lua_ident) }.to_string_lossy();
    ident
        .split('$')
        .find_map(|part| part.strip_prefix("LuaVersion: "))
        .map(|v| v.split("  ").next().unwrap_or(v).trim().to_string())
        .unwrap_or_else(|| "Lua 5.4".into())
}

impl Runtime {
    pub fn new(opts: &Options) -> Result<Runtime, String> {
        system::ignore_sigpipe();
        // SAFETY: a standalone interpreter offers every standard library, `debug` included,
        // exactly as the reference `lua` does.
        let lua = unsafe { Lua::unsafe_new_with(StdLib::ALL, LuaOptions::new()) };
        install_warnings(&lua, opts.warnings).map_err(|e| e.to_string())?;
        let roots = lua.create_table().map_err(|e| e.to_string())?;
        install_core(&lua).map_err(|e| e.to_string())?;
        report::install(&lua).map_err(|e| e.to_string())?;
        stdlib::install_searcher(&lua, roots.clone()).map_err(|e| e.to_string())?;
        dialect::install(&lua, opts.dialect, &roots)?;
        Ok(Runtime { lua })
    }

    pub fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Loads a script file (`None`: standard input), skipping a first line that starts
    /// with `#` while keeping line numbers right.
    pub fn load_script(&self, path: Option<&Path>) -> Result<Function, String> {
        let (bytes, name) = match path {
            Some(p) => match std::fs::read(p) {
                Ok(b) => (b, format!("@{}", p.display())),
                Err(e) => return Err(format!("cannot open {}: {}", p.display(), crate::net::error::message(&e))),
            },
            None => {
                let mut b = Vec::new();
                if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut b) {
                    return Err(format!("cannot read stdin: {}", crate::net::error::message(&e)));
                }
                (b, "=stdin".to_string())
            }
        };
        self.load_chunk(&skip_shebang(&bytes), &name)
    }

    /// Compiles `src` under chunk name `name` (`@file` or `=label`).
    pub fn load_chunk(&self, src: &[u8], name: &str) -> Result<Function, String> {
        self.lua.load(src).set_name(name).into_function().map_err(|e| error_text(&e))
    }

    /// Compiles and runs `src` on the main thread (no arguments).
    pub fn exec(&self, src: &str, name: &str) -> Result<(), String> {
        let f = self.load_chunk(src.as_bytes(), name)?;
        self.call(&f, MultiValue::new())
    }

    /// Runs `f(args)` on the main thread; an error comes back as `lua` prints it: the
    /// message (or `(error object is a X value)`) and a traceback from where it was raised.
    pub fn call(&self, f: &Function, args: MultiValue) -> Result<(), String> {
        self.call_values(f, args).map(|_| ())
    }

    /// As [`Runtime::call`], returning the results.
    pub fn call_values(&self, f: &Function, args: MultiValue) -> Result<MultiValue, String> {
        report::protected_call(&self.lua, f, args)
    }

    /// Runs the event loop until nothing is alive.
    pub fn run_loop(&self) -> Result<(), String> {
        match crate::net::existing_reactor(&self.lua) {
            Some(r) => r.run(&self.lua).map_err(|e| error_text(&e)),
            None => Ok(()),
        }
    }

    /// `require(name)`, assigning the result to global `global` (the `-l` option).
    pub fn require(&self, global: &str, name: &str) -> Result<(), String> {
        let require: Function = self.lua.globals().get("require").map_err(|e| e.to_string())?;
        let v: Value = require.call(name).map_err(|e| error_text(&e))?;
        self.lua.globals().set(global, v).map_err(|e| e.to_string())
    }

    /// Sets the global `arg` table.
    pub fn set_arg(&self, argv: &[String], script_index: usize) -> Result<(), String> {
        let t = self.lua.create_table().map_err(|e| e.to_string())?;
        for (i, a) in argv.iter().enumerate() {
            t.raw_set(i as i64 - script_index as i64, a.as_str()).map_err(|e| e.to_string())?;
        }
        self.lua.globals().set("arg", t).map_err(|e| e.to_string())
    }
}

/// A first line starting with `#` (a shebang) is dropped but its newline kept, so line
/// numbers stay right.
pub fn skip_shebang(src: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if src.first() == Some(&b'#') {
        let end = src.iter().position(|&b| b == b'\n').unwrap_or(src.len());
        return std::borrow::Cow::Owned(src[end..].to_vec());
    }
    std::borrow::Cow::Borrowed(src)
}

/// `package.preload["rluanet.core"]`: builds the core and runs its Lua prelude on first use.
fn install_core(lua: &Lua) -> mlua::Result<()> {
    let preload: Table = lua.globals().get::<Table>("package")?.get("preload")?;
    preload.set(
        crate::net::MODULE,
        lua.create_function(|lua, ()| {
            let core = crate::net::open(lua)?;
            let prelude = stdlib::load(lua, "rluanet.prelude")?
                .ok_or_else(|| mlua::Error::RuntimeError("embedded rluanet.prelude missing".into()))?;
            prelude.call::<Table>(core)
        })?,
    )
}

/// Lua 5.4's `warn`: off until `@on` (or `-W`), printed as `Lua warning: ...`.
fn install_warnings(lua: &Lua, on: bool) -> mlua::Result<()> {
    let enabled = Rc::new(Cell::new(on));
    let pending = Rc::new(std::cell::RefCell::new(String::new()));
    lua.set_warning_function(move |_, msg, incomplete| {
        if pending.borrow().is_empty() && !incomplete && msg.starts_with('@') {
            match msg {
                "@on" => enabled.set(true),
                "@off" => enabled.set(false),
                _ => {}
            }
            return Ok(());
        }
        pending.borrow_mut().push_str(msg);
        if !incomplete {
            let text = std::mem::take(&mut *pending.borrow_mut());
            if enabled.get() {
                eprintln!("Lua warning: {text}");
            }
        }
        Ok(())
    });
    Ok(())
}
