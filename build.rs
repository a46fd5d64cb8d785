//! Embeds every file under `stdlib/` so the binary carries its Lua side. Modules are
//! named by path: `stdlib/rluanet/prelude.lua` is `rluanet.prelude`, `x/init.lua` is `x`.
//!
//! When the build runs on the machine it builds for, each file is also compiled to Lua
//! bytecode here (with its debug information, so errors keep their file and line): loading
//! bytecode skips the parser, which is most of what start-up would spend on embedded Lua.
//! A syntax error in `stdlib/` therefore fails the build.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// (module name, chunk name, absolute path) of each embedded file.
fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, root, out);
        } else if p.extension().is_some_and(|e| e == "lua") {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            // Errors name the file as it is in the tree: `@stdlib/luanet/net/init.lua`.
            let chunk = format!("@stdlib/{}", rel.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"));
            let mut name = rel.with_extension("").to_string_lossy().replace(std::path::MAIN_SEPARATOR, ".");
            if let Some(pkg) = name.strip_suffix(".init") {
                name = pkg.to_string();
            }
            out.push((name, chunk, p.canonicalize().unwrap_or(p.clone())));
        }
    }
}

fn compile(lua: &mlua::Lua, name: &str, chunk: &str, path: &Path, out: &Path) -> PathBuf {
    let src = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let f = lua
        .load(&src)
        .set_name(chunk)
        .into_function()
        .unwrap_or_else(|e| panic!("stdlib module {name} does not compile: {e}"));
    let target = out.join(format!("{name}.luac"));
    std::fs::write(&target, f.dump(false)).unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
    target
}

fn main() {
    // A position-dependent executable needs no run-time relocation of its own tables,
    // which is most of what start-up would otherwise spend in the dynamic loader.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    let root = Path::new("stdlib");
    println!("cargo:rerun-if-changed=stdlib");
    let mut files = Vec::new();
    walk(root, root, &mut files);
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    // Bytecode is only portable to a machine of the same kind (sizes of int, size_t, numbers).
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    let lua = native.then(mlua::Lua::new);
    let bytecode_dir = out.join("stdlib_bytecode");
    if native {
        std::fs::create_dir_all(&bytecode_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", bytecode_dir.display()));
    }
    let mut index = String::from(
        "/// (module name, chunk name, source, bytecode)\npub static FILES: &[(&str, &str, &str, Option<&[u8]>)] = &[\n",
    );
    for (name, chunk, path) in &files {
        let bytecode = match &lua {
            Some(lua) => format!("Some(include_bytes!({:?}))", compile(lua, name, chunk, path, &bytecode_dir)),
            None => "None".to_string(),
        };
        let _ = writeln!(index, "    ({name:?}, {chunk:?}, include_str!({path:?}), {bytecode}),");
    }
    index.push_str("];\n");
    if let Err(e) = std::fs::write(out.join("stdlib_files.rs"), index) {
        panic!("cannot write stdlib index: {e}");
    }
}
