//! `rlua-net [options] [script [args...]]`: the script runner, as `lua` 5.4 behaves,
//! with dialect selection and the event loop run after the main chunk.

pub mod args;
pub mod generate;

use std::io::IsTerminal;
use std::path::Path;

use mlua::{IntoLua, MultiValue};

use crate::runtime::{self, Dialect, Options, Runtime, dialect};

const PROG: &str = "rlua-net";

fn fail(msg: &str) -> i32 {
    eprintln!("{PROG}: {msg}");
    1
}

pub fn version_line() -> String {
    format!("rlua-net {} ({}, {})", env!("CARGO_PKG_VERSION"), runtime::lua_release(), runtime::tls_library_version())
}

fn list_dialects() {
    let all = std::iter::once(Dialect::All).chain(dialect::NAMED);
    for d in all {
        let names = std::iter::once(d.name()).chain(d.aliases().iter().copied()).collect::<Vec<_>>().join(", ");
        let status = if d.available() { "" } else { " [not available yet]" };
        println!("{names:<20} {}{status}", d.summary());
    }
}

/// Picks the dialect: `--dialect` beats the script's own line, which beats
/// `RLUA_NET_DIALECT`; the default is `all`.
fn choose_dialect(flag: Option<&str>, script_src: Option<&[u8]>) -> Result<Dialect, String> {
    let from_env = std::env::var("RLUA_NET_DIALECT").ok().filter(|s| !s.trim().is_empty());
    let from_script = script_src.and_then(dialect::from_script);
    let pick = flag.map(str::to_string).or(from_script).or(from_env);
    match pick {
        None => Ok(Dialect::All),
        Some(name) => Dialect::parse(&name).ok_or_else(|| dialect::unknown(&name)),
    }
}

pub fn main() -> i32 {
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let args = match args::parse(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{PROG}: {e}");
            eprintln!("usage: rlua-net [options] [script [args...]] (try --help)");
            return 1;
        }
    };
    if let Some(what) = &args.generate {
        return match generate::write(what, &mut std::io::stdout().lock()) {
            Ok(()) => 0,
            Err(e) => fail(&e),
        };
    }
    if args.help {
        let _ = args::command().print_help();
        println!();
        return 0;
    }
    if args.version {
        println!("{}", version_line());
        return 0;
    }
    if args.list_dialects {
        list_dialects();
        return 0;
    }
    runtime::raise_fd_limit();

    // Read a script file early: it may name its own dialect.
    let script_path = args.script.as_deref().filter(|s| *s != "-").map(Path::new);
    let script_src = script_path.and_then(|p| std::fs::read(p).ok());
    let dialect = match choose_dialect(args.dialect.as_deref(), script_src.as_deref()) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };

    // `-i` implies `-v`, as in `lua`.
    if args.show_version || args.interactive {
        println!("{}", version_line());
    }
    if args.ignore_env {
        // `-E`: the package library must not see LUA_PATH/LUA_CPATH either.
        for var in ["LUA_PATH", "LUA_PATH_5_4", "LUA_CPATH", "LUA_CPATH_5_4"] {
            // SAFETY: still single-threaded; nothing else reads the environment concurrently.
            unsafe { std::env::remove_var(var) };
        }
    }
    let rt = match Runtime::new(&Options { dialect, warnings: args.warnings }) {
        Ok(rt) => rt,
        Err(e) => return fail(&e),
    };
    let code = run(&rt, &args, script_src.as_deref());
    // The process ends here: the Lua state is not closed, so no finalizer runs against a
    // runtime that is being torn down (C stdio still flushes at exit, as with `lua`).
    std::mem::forget(rt);
    code
}

/// Everything after the runtime exists: `LUA_INIT`, `-e`/`-l`, the script, then the REPL or
/// the event loop. Returns the exit status.
fn run(rt: &Runtime, args: &args::Args, script_src: Option<&[u8]>) -> i32 {
    if let Err(e) = rt.set_arg(&args.argv, args.script_index) {
        return fail(&e);
    }
    if !args.ignore_env {
        if let Err(e) = run_lua_init(rt) {
            return fail(&e);
        }
    }
    for step in &args.steps {
        let r = match step {
            args::Step::Exec(code) => {
                rt.load_chunk(code.as_bytes(), "=(command line)").and_then(|f| rt.call(&f, MultiValue::new()))
            }
            args::Step::Require(g, m) => rt.require(g, m),
        };
        if let Err(e) = r {
            return fail(&e);
        }
    }

    let stdin_tty = std::io::stdin().is_terminal();
    if let Some(script) = &args.script {
        let loaded = match (script.as_str(), script_src) {
            ("-", _) => rt.load_script(None),
            (_, Some(src)) => rt.load_chunk(&runtime::skip_shebang(src), &format!("@{script}")),
            (path, None) => rt.load_script(Some(Path::new(path))),
        };
        let f = match loaded {
            Ok(f) => f,
            Err(e) => return fail(&e),
        };
        let script_args: MultiValue = match args.script_args.iter().map(|a| a.as_str().into_lua(rt.lua())).collect() {
            Ok(a) => a,
            Err(e) => return fail(&e.to_string()),
        };
        if let Err(e) = rt.call(&f, script_args) {
            return fail(&e);
        }
    } else if !args.interactive && args.steps.is_empty() && !args.show_version && !stdin_tty {
        match rt.load_script(None).and_then(|f| rt.call(&f, MultiValue::new())) {
            Ok(()) => {}
            Err(e) => return fail(&e),
        }
    }

    let repl = args.interactive || (args.script.is_none() && args.steps.is_empty() && !args.show_version && stdin_tty);
    if repl {
        if !args.interactive {
            println!("{}", version_line());
        }
        return crate::repl::run(rt);
    }
    match rt.run_loop() {
        Ok(()) => 0,
        Err(e) => fail(&e),
    }
}

/// `LUA_INIT_5_4` or `LUA_INIT`: `@file` runs a file, anything else is a chunk.
fn run_lua_init(rt: &Runtime) -> Result<(), String> {
    let (name, value) = match std::env::var("LUA_INIT_5_4") {
        Ok(v) => ("=LUA_INIT_5_4", v),
        Err(_) => match std::env::var("LUA_INIT") {
            Ok(v) => ("=LUA_INIT", v),
            Err(_) => return Ok(()),
        },
    };
    let f = match value.strip_prefix('@') {
        Some(path) => rt.load_script(Some(Path::new(path)))?,
        None => rt.load_chunk(value.as_bytes(), name)?,
    };
    rt.call(&f, MultiValue::new())
}
