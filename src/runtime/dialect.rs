//! Dialect names, selection and installation. A dialect is a folder in `stdlib/` whose
//! `init.lua` sets up its globals; the runtime only knows their names.

use mlua::{Lua, Table};

use super::stdlib;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    All,
    Luanet,
    Hammerspoon,
    Pragtical,
    Nodemcu,
}

pub const NAMED: [Dialect; 4] = [Dialect::Luanet, Dialect::Hammerspoon, Dialect::Pragtical, Dialect::Nodemcu];

impl Dialect {
    pub fn parse(s: &str) -> Option<Dialect> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "all" => Dialect::All,
            "luanet" | "lua-net" => Dialect::Luanet,
            "hammerspoon" | "hs" => Dialect::Hammerspoon,
            "pragtical" => Dialect::Pragtical,
            "nodemcu" => Dialect::Nodemcu,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::All => "all",
            Dialect::Luanet => "luanet",
            Dialect::Hammerspoon => "hammerspoon",
            Dialect::Pragtical => "pragtical",
            Dialect::Nodemcu => "nodemcu",
        }
    }

    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Dialect::Luanet => &["lua-net"],
            Dialect::Hammerspoon => &["hs"],
            _ => &[],
        }
    }

    pub fn summary(self) -> &'static str {
        match self {
            Dialect::All => "every available dialect at once (the default)",
            Dialect::Luanet => "mah0x211's lua-net and lua-libtls (require-only modules)",
            Dialect::Hammerspoon => "Hammerspoon's hs.socket and hs.socket.udp",
            Dialect::Pragtical => "the Pragtical editor's net module",
            Dialect::Nodemcu => "NodeMCU firmware's net, tls and tmr",
        }
    }

    /// Whether this build carries the dialect (its `stdlib/<name>/` folder).
    pub fn available(self) -> bool {
        match self {
            Dialect::All => true,
            d => stdlib::has_package(d.name()),
        }
    }
}

/// Error text for an unknown dialect name.
pub fn unknown(name: &str) -> String {
    format!("unknown dialect '{name}' (try --list-dialects)")
}

/// Sets up the globals of `d`. Each dialect's `init` gets the mode (`"all"` or its own
/// name), the table of roots its modules may be required from, and the platform name.
pub fn install(lua: &Lua, d: Dialect, roots: &Table) -> Result<(), String> {
    let selected: Vec<Dialect> = match d {
        Dialect::All => NAMED.iter().copied().filter(|d| d.available()).collect(),
        d if d.available() => vec![d],
        d => return Err(format!("dialect '{}' is not available yet in this build of rlua-net", d.name())),
    };
    for s in selected {
        let init = stdlib::load(lua, s.name()).map_err(|e| e.to_string())?;
        if let Some(f) = init {
            f.call::<()>((d.name(), roots.clone(), crate::net::platform())).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// A dialect named by the script itself: `--dialect NAME`, `--dialect=NAME` or `-d NAME`
/// on its shebang line, or a `-- rlua-net: dialect=NAME` comment in its first five lines.
pub fn from_script(src: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&src[..src.len().min(4096)]);
    for (i, line) in head.lines().take(5).enumerate() {
        let line = line.trim();
        if i == 0 && line.starts_with("#!") {
            let words: Vec<&str> = line.split_whitespace().collect();
            for (j, w) in words.iter().enumerate() {
                if let Some(v) = w.strip_prefix("--dialect=") {
                    return Some(v.to_string());
                }
                if (*w == "--dialect" || *w == "-d") && j + 1 < words.len() {
                    return Some(words[j + 1].to_string());
                }
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("--") {
            let rest = rest.trim_start_matches('-').trim();
            if let Some(v) = rest.strip_prefix("rlua-net:") {
                let v = v.trim();
                if let Some(name) =
                    v.strip_prefix("dialect").map(|x| x.trim_start().trim_start_matches(['=', ':']).trim())
                {
                    if let Some(w) = name.split_whitespace().next() {
                        return Some(w.to_string());
                    }
                }
            }
        }
    }
    None
}
