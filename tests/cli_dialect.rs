//! Choosing the dialect: `--dialect`/`-d`, `RLUA_NET_DIALECT`, and the script's own
//! shebang or `-- rlua-net: dialect=NAME` line. Precedence: flag > script line > env var.
//! Named dialects are checked against what this tree carries (`stdlib/<name>/`), so the
//! tests keep their meaning as dialects are added.

mod cli_support;

use cli_support::{BIN, NAMED_DIALECTS, Outcome, Run, TempDir, dialect_available};

const OK_CHUNK: &str = "print('dialect ok')";

fn rlua(dir: &TempDir) -> Run {
    Run::rlua().cwd(dir.path())
}

fn assert_runs(out: &Outcome) {
    out.assert_code(0);
    assert_eq!(out.stdout, "dialect ok\n", "{}", out.describe());
}

fn assert_unknown(out: &Outcome, name: &str) {
    out.assert_code(1);
    let want = format!("rlua-net: unknown dialect '{name}'");
    assert!(out.stderr.starts_with(&want), "expected {want:?}\n{}", out.describe());
    assert!(!out.stdout.contains("dialect ok"), "nothing may run\n{}", out.describe());
}

/// A named dialect: works when this tree carries it, else fails saying it is not available.
fn assert_named(out: &Outcome, canonical: &str) {
    if dialect_available(canonical) {
        assert_runs(out);
    } else {
        out.assert_code(1);
        assert!(
            out.stderr.starts_with("rlua-net: ") && out.stderr.contains("not available yet"),
            "expected a 'not available yet' message\n{}",
            out.describe()
        );
        assert!(out.stderr.contains(canonical), "the message should name {canonical}\n{}", out.describe());
        assert!(!out.stdout.contains("dialect ok"), "nothing may run\n{}", out.describe());
    }
}

// ---------------------------------------------------------------- all

#[test]
fn all_is_the_default_and_can_be_named_every_way() {
    let dir = TempDir::new("dialect-all");
    assert_runs(&rlua(&dir).args(["-e", OK_CHUNK]).run());
    assert_runs(&rlua(&dir).args(["--dialect", "all", "-e", OK_CHUNK]).run());
    assert_runs(&rlua(&dir).args(["--dialect=all", "-e", OK_CHUNK]).run());
    assert_runs(&rlua(&dir).args(["-d", "all", "-e", OK_CHUNK]).run());
    assert_runs(&rlua(&dir).env("RLUA_NET_DIALECT", "all").args(["-e", OK_CHUNK]).run());
    dir.write("c.lua", &format!("-- rlua-net: dialect=all\n{OK_CHUNK}\n"));
    assert_runs(&rlua(&dir).arg("c.lua").run());
}

#[test]
fn empty_env_var_means_the_default() {
    let dir = TempDir::new("dialect-empty-env");
    assert_runs(&rlua(&dir).env("RLUA_NET_DIALECT", "").args(["-e", OK_CHUNK]).run());
}

// ---------------------------------------------------------------- unknown names

#[test]
fn unknown_dialect_from_the_flag() {
    let dir = TempDir::new("dialect-unknown-flag");
    assert_unknown(&rlua(&dir).args(["--dialect", "x", "-e", OK_CHUNK]).run(), "x");
    assert_unknown(&rlua(&dir).args(["-d", "klingon", "-e", OK_CHUNK]).run(), "klingon");
}

#[test]
fn unknown_dialect_from_the_env_var() {
    let dir = TempDir::new("dialect-unknown-env");
    assert_unknown(&rlua(&dir).env("RLUA_NET_DIALECT", "bogus").args(["-e", OK_CHUNK]).run(), "bogus");
}

#[test]
fn unknown_dialect_from_a_script_comment() {
    let dir = TempDir::new("dialect-unknown-comment");
    dir.write("c.lua", &format!("-- rlua-net: dialect=zzz\n{OK_CHUNK}\n"));
    assert_unknown(&rlua(&dir).arg("c.lua").run(), "zzz");
}

#[test]
fn unknown_dialect_from_a_shebang_line() {
    let dir = TempDir::new("dialect-unknown-shebang");
    let script = dir.write_executable("s.lua", &format!("#!/usr/bin/env -S {BIN} --dialect nope\n{OK_CHUNK}\n"));
    assert_unknown(&Run::program(&script).cwd(dir.path()).run(), "nope");
    // Read from the shebang line also when the script is passed by name.
    assert_unknown(&rlua(&dir).arg("s.lua").run(), "nope");
}

// ---------------------------------------------------------------- named dialects

#[test]
fn named_dialects_by_flag() {
    let dir = TempDir::new("dialect-named-flag");
    for (name, aliases) in NAMED_DIALECTS {
        for n in std::iter::once(name).chain(aliases.iter().copied()) {
            assert_named(&rlua(&dir).args(["--dialect", n, "-e", OK_CHUNK]).run(), name);
            assert_named(&rlua(&dir).args(["-d", n, "-e", OK_CHUNK]).run(), name);
        }
    }
}

#[test]
fn named_dialects_by_env_var() {
    let dir = TempDir::new("dialect-named-env");
    for (name, aliases) in NAMED_DIALECTS {
        for n in std::iter::once(name).chain(aliases.iter().copied()) {
            assert_named(&rlua(&dir).env("RLUA_NET_DIALECT", n).args(["-e", OK_CHUNK]).run(), name);
        }
    }
}

#[test]
fn named_dialects_by_script_line() {
    let dir = TempDir::new("dialect-named-script");
    for (name, _) in NAMED_DIALECTS {
        dir.write("c.lua", &format!("-- rlua-net: dialect={name}\n{OK_CHUNK}\n"));
        assert_named(&rlua(&dir).arg("c.lua").run(), name);
        let script = dir.write_executable("s.lua", &format!("#!/usr/bin/env -S {BIN} --dialect {name}\n{OK_CHUNK}\n"));
        assert_named(&Run::program(&script).cwd(dir.path()).run(), name);
    }
}

// ---------------------------------------------------------------- where the script says it

#[test]
fn script_comment_forms_and_position() {
    let dir = TempDir::new("dialect-comment-pos");
    // On line 5 (after a shebang and other lines) it still counts.
    dir.write(
        "line5.lua",
        &format!("#!/bin/false\nlocal a = 1\nlocal b = 2\n-- a comment\n-- rlua-net: dialect=zzz\n{OK_CHUNK}\n"),
    );
    assert_unknown(&rlua(&dir).arg("line5.lua").run(), "zzz");
    // Past the first five lines it is just a comment.
    dir.write(
        "line6.lua",
        &format!(
            "local a = 1\nlocal b = 2\nlocal c = 3\nlocal d = 4\nlocal e = 5\n-- rlua-net: dialect=zzz\n{OK_CHUNK}\n"
        ),
    );
    assert_runs(&rlua(&dir).arg("line6.lua").run());
}

#[test]
fn shebang_flag_forms() {
    let dir = TempDir::new("dialect-shebang-forms");
    for form in ["--dialect=zzz", "-d zzz", "--dialect zzz"] {
        dir.write("s.lua", &format!("#!/usr/bin/env -S {BIN} {form}\n{OK_CHUNK}\n"));
        assert_unknown(&rlua(&dir).arg("s.lua").run(), "zzz");
    }
}

// ---------------------------------------------------------------- precedence

#[test]
fn flag_beats_script_line_and_env_var() {
    let dir = TempDir::new("dialect-prec-flag");
    dir.write("c.lua", &format!("-- rlua-net: dialect=from-script\n{OK_CHUNK}\n"));
    assert_runs(&rlua(&dir).env("RLUA_NET_DIALECT", "from-env").args(["--dialect", "all", "c.lua"]).run());
    assert_unknown(&rlua(&dir).env("RLUA_NET_DIALECT", "all").args(["-d", "from-flag", "c.lua"]).run(), "from-flag");
    assert_unknown(
        &rlua(&dir).env("RLUA_NET_DIALECT", "from-env").args(["-d", "from-flag", "c.lua"]).run(),
        "from-flag",
    );
    assert_runs(&rlua(&dir).env("RLUA_NET_DIALECT", "from-env").args(["-d", "all", "-e", OK_CHUNK]).run());
}

#[test]
fn script_line_beats_env_var() {
    let dir = TempDir::new("dialect-prec-script");
    dir.write("ok.lua", &format!("-- rlua-net: dialect=all\n{OK_CHUNK}\n"));
    assert_runs(&rlua(&dir).env("RLUA_NET_DIALECT", "from-env").arg("ok.lua").run());
    dir.write("bad.lua", &format!("-- rlua-net: dialect=from-script\n{OK_CHUNK}\n"));
    assert_unknown(&rlua(&dir).env("RLUA_NET_DIALECT", "all").arg("bad.lua").run(), "from-script");
    assert_unknown(&rlua(&dir).env("RLUA_NET_DIALECT", "from-env").arg("bad.lua").run(), "from-script");
    let script = dir.write_executable("sb.lua", &format!("#!/usr/bin/env -S {BIN} --dialect all\n{OK_CHUNK}\n"));
    assert_runs(&Run::program(&script).cwd(dir.path()).env("RLUA_NET_DIALECT", "from-env").run());
}

#[test]
fn env_var_applies_without_flag_or_script_line() {
    let dir = TempDir::new("dialect-prec-env");
    dir.write("plain.lua", &format!("{OK_CHUNK}\n"));
    assert_unknown(&rlua(&dir).env("RLUA_NET_DIALECT", "from-env").arg("plain.lua").run(), "from-env");
}

// ---------------------------------------------------------------- --list-dialects

#[test]
fn list_dialects_names_every_dialect_and_its_state() {
    let out = Run::rlua().arg("--list-dialects").run();
    out.assert_code(0);
    let lines = out.stdout_lines();
    let all = lines.iter().find(|l| l.split_whitespace().next() == Some("all"));
    assert!(all.is_some_and(|l| !l.contains("not available")), "{}", out.describe());
    for (name, aliases) in NAMED_DIALECTS {
        let line = lines
            .iter()
            .find(|l| l.split([',', ' ']).next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from --list-dialects\n{}", out.describe()));
        for alias in aliases {
            assert!(line.contains(alias), "alias {alias} of {name} not listed\n{}", out.describe());
        }
        assert_eq!(
            line.contains("not available"),
            !dialect_available(name),
            "--list-dialects disagrees with stdlib/{name}/ about availability\n{}",
            out.describe()
        );
    }
}
