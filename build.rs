//! Embeds every file under `stdlib/` so the binary carries its Lua side. Modules are
//! named by path: `stdlib/core/prelude.lua` is `core.prelude`, `x/init.lua` is `x`.

use std::fmt::Write as _;
use std::path::Path;

fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, root, out);
        } else if p.extension().is_some_and(|e| e == "lua") {
            let rel = p.strip_prefix(root).unwrap_or(&p).with_extension("");
            let mut name = rel.to_string_lossy().replace(std::path::MAIN_SEPARATOR, ".");
            if let Some(pkg) = name.strip_suffix(".init") {
                name = pkg.to_string();
            }
            out.push((name, p.canonicalize().unwrap_or(p.clone()).to_string_lossy().into_owned()));
        }
    }
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
    let mut src = String::from("pub static FILES: &[(&str, &str)] = &[\n");
    for (name, path) in &files {
        let _ = writeln!(src, "    ({name:?}, include_str!({path:?})),");
    }
    src.push_str("];\n");
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out).join("stdlib_files.rs"), src) {
        panic!("cannot write stdlib index: {e}");
    }
}
