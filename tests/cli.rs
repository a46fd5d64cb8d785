//! The command line as `lua` 5.4 has it, plus rlua-net's own flags: options, `arg` and
//! `...`, LUA_INIT, warnings, standard input, exit statuses, the error format and
//! shebang scripts. Where the contract says "as in lua", expectations are written out
//! here and also checked against `lua5.4` when it is installed.

mod cli_support;

use cli_support::{BIN, Outcome, Run, SHOW_ARGS, TempDir, normalize_prog};

/// A scratch directory holding `args.lua` (prints `arg` and `...`) and `mymod.lua`.
fn scratch(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    dir.write("args.lua", SHOW_ARGS);
    dir.write("mymod.lua", "ORDER = (ORDER or '') .. 'm'\nreturn { name = 'mymod' }\n");
    dir
}

fn rlua(dir: &TempDir) -> Run {
    Run::rlua().cwd(dir.path())
}

/// Runs the same arguments (and stdin) under rlua-net and, when installed, lua5.4.
fn both(dir: &TempDir, args: &[&str], stdin: Option<&str>) -> (Outcome, Option<Outcome>) {
    let mut ours = rlua(dir).args(args);
    let mut theirs = Run::lua().map(|r| r.cwd(dir.path()).args(args));
    if let Some(input) = stdin {
        ours = ours.stdin(input);
        theirs = theirs.map(|r| r.stdin(input));
    }
    (ours.run(), theirs.map(Run::run))
}

/// Splits a listing into its `arg` lines and its `...` lines (`n` and `va`).
fn split_listing(text: &str) -> (String, String) {
    let (args, rest): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with("arg\t"));
    (args.join("\n"), rest.join("\n"))
}

/// One command line and the listing lua 5.4 gives for it (argv[0] shown as `PROG`).
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    stdin: Option<&'static str>,
    want: &'static [&'static str],
}

/// `SHOW_ARGS` on one line, for `-e`.
const SHOW_ARGS_E: &str = "local lo = 0 while arg[lo - 1] ~= nil do lo = lo - 1 end \
     for i = lo, #arg do print('arg', i, arg[i]) end print('n', select('#', ...))";

const CASES: &[Case] = &[
    Case {
        name: "script and arguments",
        args: &["args.lua", "a", "b c"],
        stdin: None,
        want: &["arg\t-1\tPROG", "arg\t0\targs.lua", "arg\t1\ta", "arg\t2\tb c", "n\t2", "va\t1\ta", "va\t2\tb c"],
    },
    Case {
        name: "options before the script",
        args: &["-W", "-e", "x=1", "args.lua", "x", "-e", "y"],
        stdin: None,
        want: &[
            "arg\t-4\tPROG",
            "arg\t-3\t-W",
            "arg\t-2\t-e",
            "arg\t-1\tx=1",
            "arg\t0\targs.lua",
            "arg\t1\tx",
            "arg\t2\t-e",
            "arg\t3\ty",
            "n\t3",
            "va\t1\tx",
            "va\t2\t-e",
            "va\t3\ty",
        ],
    },
    Case {
        name: "require option",
        args: &["-l", "mymod", "args.lua"],
        stdin: None,
        want: &["arg\t-3\tPROG", "arg\t-2\t-l", "arg\t-1\tmymod", "arg\t0\targs.lua", "n\t0"],
    },
    Case {
        name: "double dash before the script",
        args: &["-E", "--", "args.lua", "p"],
        stdin: None,
        want: &["arg\t-3\tPROG", "arg\t-2\t-E", "arg\t-1\t--", "arg\t0\targs.lua", "arg\t1\tp", "n\t1", "va\t1\tp"],
    },
    Case {
        name: "double dash after the script",
        args: &["args.lua", "--", "x"],
        stdin: None,
        want: &["arg\t-1\tPROG", "arg\t0\targs.lua", "arg\t1\t--", "arg\t2\tx", "n\t2", "va\t1\t--", "va\t2\tx"],
    },
    Case {
        name: "options after the script",
        args: &["args.lua", "--help", "--dialect", "x", "-v", "--version"],
        stdin: None,
        want: &[
            "arg\t-1\tPROG",
            "arg\t0\targs.lua",
            "arg\t1\t--help",
            "arg\t2\t--dialect",
            "arg\t3\tx",
            "arg\t4\t-v",
            "arg\t5\t--version",
            "n\t5",
            "va\t1\t--help",
            "va\t2\t--dialect",
            "va\t3\tx",
            "va\t4\t-v",
            "va\t5\t--version",
        ],
    },
    Case {
        name: "empty and dash arguments",
        args: &["args.lua", "", "-"],
        stdin: None,
        want: &["arg\t-1\tPROG", "arg\t0\targs.lua", "arg\t1\t", "arg\t2\t-", "n\t2", "va\t1\t", "va\t2\t-"],
    },
    Case {
        name: "script from stdin",
        args: &["-", "p", "q"],
        stdin: Some(SHOW_ARGS),
        want: &["arg\t-1\tPROG", "arg\t0\t-", "arg\t1\tp", "arg\t2\tq", "n\t2", "va\t1\tp", "va\t2\tq"],
    },
    Case {
        name: "no script",
        args: &["-e", SHOW_ARGS_E],
        stdin: None,
        want: &["arg\t0\tPROG", "arg\t1\t-e", "arg\t2\t<chunk>", "n\t0"],
    },
];

#[derive(Clone, Copy, PartialEq)]
enum Part {
    /// The `arg` table.
    Arg,
    /// The main chunk's `...`.
    Varargs,
}

/// Runs case `name` under rlua-net (and lua5.4, to check the expectation itself) and
/// compares one part of the listing.
fn check_case(name: &str, part: Part) {
    let case = CASES.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no case {name}"));
    let dir = scratch("args");
    let (ours, theirs) = both(&dir, case.args, case.stdin);
    let pick = |text: &str| {
        let (arg, va) = split_listing(&text.replace(SHOW_ARGS_E, "<chunk>"));
        if part == Part::Arg { arg } else { va }
    };
    let want = pick(&case.want.join("\n"));
    if let Some(lua) = &theirs {
        let lua_prog = cli_support::lua54().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        assert_eq!(lua.code, Some(0), "{}", lua.describe());
        assert_eq!(
            pick(&normalize_prog(&lua.stdout, &lua_prog)),
            want,
            "lua5.4 disagrees with the expectation ({name})"
        );
    }
    ours.assert_code(0);
    let what = if part == Part::Arg { "the arg table" } else { "the main chunk's ..." };
    assert_eq!(
        pick(&normalize_prog(&ours.stdout, BIN)),
        want,
        "{what} differs from lua's ({name})\n{}",
        ours.describe()
    );
}

// ---------------------------------------------------------------- arg and ...

#[test]
fn arg_script_and_its_arguments() {
    check_case("script and arguments", Part::Arg);
}

#[test]
fn arg_options_before_the_script_are_negative() {
    check_case("options before the script", Part::Arg);
}

#[test]
fn arg_with_require_option() {
    check_case("require option", Part::Arg);
}

#[test]
fn arg_double_dash_before_the_script() {
    check_case("double dash before the script", Part::Arg);
}

#[test]
fn arg_double_dash_after_the_script_is_a_script_argument() {
    check_case("double dash after the script", Part::Arg);
}

#[test]
fn arg_options_after_the_script_belong_to_the_script() {
    check_case("options after the script", Part::Arg);
}

#[test]
fn arg_empty_and_dash_arguments_pass_through() {
    check_case("empty and dash arguments", Part::Arg);
}

#[test]
fn arg_script_from_stdin_with_dash() {
    check_case("script from stdin", Part::Arg);
}

#[test]
fn arg_without_a_script() {
    // No script: the whole command line sits at 0 and up, as in lua.
    check_case("no script", Part::Arg);
}

#[test]
fn main_chunk_varargs_match_lua_for_every_case() {
    for case in CASES {
        check_case(case.name, Part::Varargs);
    }
}

#[test]
fn main_chunk_varargs_are_the_script_arguments() {
    let dir = scratch("varargs");
    dir.write("v.lua", "local a, b, c = ...\nprint(select('#', ...), type(a), a, b, c)\n");
    let out = rlua(&dir).args(["v.lua", "one", "two", "3"]).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "3\tstring\tone\ttwo\t3\n", "{}", out.describe());

    let out = rlua(&dir).arg("v.lua").run();
    out.assert_code(0);
    assert_eq!(out.stdout, "0\tnil\tnil\tnil\tnil\n", "{}", out.describe());
}

#[test]
fn rlua_net_options_take_negative_indexes_too() {
    let dir = scratch("own-flags");
    let out = rlua(&dir).args(["--dialect", "all", "args.lua", "z"]).run();
    out.assert_code(0);
    assert_eq!(
        split_listing(&normalize_prog(&out.stdout, BIN)).0,
        ["arg\t-3\tPROG", "arg\t-2\t--dialect", "arg\t-1\tall", "arg\t0\targs.lua", "arg\t1\tz"].join("\n"),
        "{}",
        out.describe()
    );
    let out = rlua(&dir).args(["-d", "all", "args.lua"]).run();
    out.assert_code(0);
    assert_eq!(
        split_listing(&normalize_prog(&out.stdout, BIN)).0,
        ["arg\t-3\tPROG", "arg\t-2\t-d", "arg\t-1\tall", "arg\t0\targs.lua"].join("\n"),
        "{}",
        out.describe()
    );
}

// ---------------------------------------------------------------- -e and -l

#[test]
fn exec_option_runs_chunks_in_order() {
    let dir = scratch("exec");
    let (ours, theirs) = both(&dir, &["-e", "io.write('a')", "-eio.write('b')", "-e", "print('c')"], None);
    ours.assert_code(0);
    assert_eq!(ours.stdout, "abc\n", "{}", ours.describe());
    if let Some(lua) = theirs {
        assert_eq!(lua.stdout, "abc\n");
    }
}

#[test]
fn exec_option_needs_an_argument() {
    let dir = scratch("exec-missing");
    let out = rlua(&dir).arg("-e").run();
    out.assert_code(1);
    assert!(out.stderr.starts_with("rlua-net: "), "{}", out.describe());
}

#[test]
fn require_option_sets_a_global_of_the_same_name() {
    let dir = scratch("require");
    let (ours, theirs) = both(&dir, &["-l", "mymod", "-e", "print(mymod.name)"], None);
    ours.assert_code(0);
    assert_eq!(ours.stdout, "mymod\n", "{}", ours.describe());
    if let Some(lua) = theirs {
        assert_eq!(lua.stdout, "mymod\n");
    }
    let out = rlua(&dir).args(["-lmymod", "-e", "print(mymod.name)"]).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "mymod\n", "{}", out.describe());
}

#[test]
fn require_option_with_a_global_name() {
    let dir = scratch("require-g");
    for form in [&["-l", "g=mymod"][..], &["-lg=mymod"][..]] {
        let mut args: Vec<&str> = form.to_vec();
        args.extend(["-e", "print(g.name, mymod)"]);
        let (ours, theirs) = both(&dir, &args, None);
        ours.assert_code(0);
        assert_eq!(ours.stdout, "mymod\tnil\n", "{}", ours.describe());
        if let Some(lua) = theirs {
            assert_eq!(lua.stdout, "mymod\tnil\n");
        }
    }
}

#[test]
fn exec_and_require_run_in_command_line_order() {
    let dir = scratch("order");
    let out = rlua(&dir).args(["-e", "ORDER='e'", "-l", "mymod", "-e", "ORDER=ORDER..'E'", "-e", "print(ORDER)"]).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "emE\n", "{}", out.describe());
}

#[test]
fn require_option_of_a_missing_module_fails() {
    let dir = scratch("require-missing");
    let out = rlua(&dir).args(["-l", "nosuchmod", "-e", "print('not reached')"]).run();
    out.assert_code(1);
    assert!(
        out.stderr.starts_with("rlua-net: module 'nosuchmod' not found"),
        "error should name the module\n{}",
        out.describe()
    );
    assert!(!out.stdout.contains("not reached"), "{}", out.describe());
}

#[test]
fn failing_exec_chunk_stops_before_the_script() {
    let dir = scratch("exec-fails");
    dir.write("s.lua", "print('script ran')\n");
    let out = rlua(&dir).args(["-e", "error('early')", "s.lua"]).run();
    out.assert_code(1);
    assert_eq!(out.stderr_first_line(), "rlua-net: (command line):1: early", "{}", out.describe());
    assert!(!out.stdout.contains("script ran"), "{}", out.describe());
}

// ---------------------------------------------------------------- -v, --version, --help

fn names_a_tls_library(text: &str) -> bool {
    ["OpenSSL", "LibreSSL", "BoringSSL", "Security.framework", "SChannel"].iter().any(|n| text.contains(n))
}

#[test]
fn version_flag_names_lua_and_the_tls_library() {
    let out = Run::rlua().arg("--version").run();
    out.assert_code(0);
    assert!(out.stdout.contains("rlua-net"), "{}", out.describe());
    assert!(out.stdout.contains("Lua 5.4"), "should name the Lua version\n{}", out.describe());
    assert!(names_a_tls_library(&out.stdout), "should name the TLS library\n{}", out.describe());
}

#[test]
fn short_v_shows_the_version_and_does_not_read_stdin() {
    let dir = scratch("v");
    let out = rlua(&dir).arg("-v").stdin("print('SHOULD' .. 'NOT' .. 'RUN')\n").run();
    out.assert_code(0);
    assert!(out.stdout.contains("Lua 5.4"), "{}", out.describe());
    assert!(!out.stdout.contains("SHOULDNOTRUN"), "-v alone must not run stdin\n{}", out.describe());
}

#[test]
fn short_v_then_runs_the_script() {
    let dir = scratch("v-script");
    dir.write("s.lua", "print('script ran')\n");
    let out = rlua(&dir).args(["-v", "s.lua"]).run();
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert!(lines.len() == 2 && lines[0].contains("Lua 5.4") && lines[1] == "script ran", "{}", out.describe());
}

#[test]
fn interactive_flag_implies_version_as_in_lua() {
    // lua.c: "-i implies -v": the version line comes before anything runs.
    let dir = scratch("i-version");
    let out = rlua(&dir).args(["-i", "-e", "print('after')"]).stdin("").run();
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert!(
        lines.len() >= 2 && lines[0].contains("Lua 5.4") && lines[1] == "after",
        "expected a version line, then 'after'\n{}",
        out.describe()
    );
}

#[test]
fn help_lists_every_option() {
    let out = Run::rlua().arg("--help").run();
    out.assert_code(0);
    for opt in ["-e", "-l", "-i", "-v", "-E", "-W", "--dialect", "-d", "--list-dialects", "--help", "--version"] {
        assert!(out.stdout.contains(opt), "--help does not mention {opt}\n{}", out.describe());
    }
    let out = Run::rlua().arg("-h").run();
    out.assert_code(0);
    assert!(out.stdout.contains("--dialect"), "{}", out.describe());
}

// ---------------------------------------------------------------- unknown options

#[test]
fn unknown_options_fail_with_status_1() {
    let dir = scratch("unknown");
    for bad in ["-x", "--bogus", "-Z"] {
        let out = rlua(&dir).args([bad, "args.lua"]).run();
        out.assert_code(1);
        assert!(out.stderr.starts_with("rlua-net: "), "{}", out.describe());
        assert!(out.stderr.contains(bad), "the message should name {bad}\n{}", out.describe());
        assert!(out.stdout.is_empty(), "the script must not run\n{}", out.describe());
    }
}

// ---------------------------------------------------------------- LUA_INIT and -E

#[test]
fn lua_init_runs_first_unless_e_flag() {
    let dir = scratch("init");
    let out = rlua(&dir).env("LUA_INIT", "print('init')").args(["-e", "print('x')"]).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "init\nx\n", "{}", out.describe());

    let out = rlua(&dir).env("LUA_INIT", "print('init')").args(["-E", "-e", "print('x')"]).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "x\n", "-E must ignore LUA_INIT\n{}", out.describe());

    let out = rlua(&dir).env("LUA_INIT_5_4", "print('init54')").args(["-E", "-e", "print('x')"]).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "x\n", "-E must ignore LUA_INIT_5_4\n{}", out.describe());
}

#[test]
fn lua_init_5_4_wins_over_lua_init() {
    let dir = scratch("init54");
    let out = rlua(&dir)
        .env("LUA_INIT", "print('plain')")
        .env("LUA_INIT_5_4", "print('v54')")
        .arg("-e")
        .arg("print('x')")
        .run();
    out.assert_code(0);
    assert_eq!(out.stdout, "v54\nx\n", "{}", out.describe());
}

#[test]
fn lua_init_at_file_runs_the_file() {
    let dir = scratch("init-file");
    dir.write("init.lua", "print('from init file', select('#', ...))\n");
    let out = rlua(&dir).env("LUA_INIT", "@init.lua").args(["-e", "print('x')"]).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "from init file\t0\nx\n", "{}", out.describe());

    let out = rlua(&dir).env("LUA_INIT_5_4", "@init.lua").args(["-E", "-e", "print('x')"]).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "x\n", "{}", out.describe());

    let out = rlua(&dir).env("LUA_INIT", "@missing-init.lua").args(["-e", "print('x')"]).run();
    out.assert_code(1);
    assert!(out.stderr.starts_with("rlua-net: cannot open missing-init.lua"), "{}", out.describe());
    assert!(!out.stdout.contains('x'), "{}", out.describe());
}

#[test]
fn error_in_lua_init_is_reported_like_lua() {
    let dir = scratch("init-error");
    let out = rlua(&dir).env("LUA_INIT", "error('ie')").args(["-e", "print('x')"]).run();
    out.assert_code(1);
    assert_eq!(out.stderr_first_line(), "rlua-net: LUA_INIT:1: ie", "{}", out.describe());
    let out = rlua(&dir).env("LUA_INIT_5_4", "error('ie')").args(["-e", "print('x')"]).run();
    out.assert_code(1);
    assert_eq!(out.stderr_first_line(), "rlua-net: LUA_INIT_5_4:1: ie", "{}", out.describe());
}

#[test]
fn e_flag_also_ignores_lua_path_and_lua_cpath() {
    // lua -E sets LUA_NOENV: package.path and cpath keep their defaults.
    let dir = scratch("noenv");
    let code = "print(package.path) print(package.cpath)";
    let out = rlua(&dir)
        .env("LUA_PATH", "/nonexistent-path/?.lua")
        .env("LUA_PATH_5_4", "/nonexistent-path54/?.lua")
        .env("LUA_CPATH", "/nonexistent-cpath/?.so")
        .env("LUA_CPATH_5_4", "/nonexistent-cpath54/?.so")
        .args(["-E", "-e", code])
        .run();
    out.assert_code(0);
    assert!(!out.stdout.contains("nonexistent"), "-E must ignore LUA_PATH/LUA_CPATH\n{}", out.describe());

    let out = rlua(&dir).env("LUA_PATH", "/nonexistent-path/?.lua").args(["-e", code]).run();
    out.assert_code(0);
    assert!(out.stdout.contains("/nonexistent-path/?.lua"), "without -E LUA_PATH applies\n{}", out.describe());
}

// ---------------------------------------------------------------- -W

#[test]
fn warnings_are_off_by_default_and_on_with_w() {
    let dir = scratch("warn");
    let out = rlua(&dir).args(["-e", "warn('hello')"]).run();
    out.assert_code(0);
    assert!(!out.stderr.contains("hello"), "{}", out.describe());

    let out = rlua(&dir).args(["-W", "-e", "warn('hello', ' there')"]).run();
    out.assert_code(0);
    assert_eq!(out.stderr, "Lua warning: hello there\n", "{}", out.describe());

    let out = rlua(&dir).args(["-e", "warn('@on') warn('x') warn('@off') warn('y')"]).run();
    out.assert_code(0);
    assert_eq!(out.stderr, "Lua warning: x\n", "{}", out.describe());
}

// ---------------------------------------------------------------- standard input

#[test]
fn dash_runs_standard_input() {
    let dir = scratch("dash");
    let out = rlua(&dir).args(["-", "a"]).stdin("print('from stdin', arg[0], arg[1])\n").run();
    out.assert_code(0);
    assert_eq!(out.stdout, "from stdin\t-\ta\n", "{}", out.describe());
}

#[test]
fn double_dash_then_dash_runs_standard_input() {
    let dir = scratch("dashdash");
    let out = rlua(&dir).args(["--", "-"]).stdin("print('dd stdin')\n").run();
    out.assert_code(0);
    assert_eq!(out.stdout, "dd stdin\n", "{}", out.describe());
}

#[test]
fn stdin_that_is_not_a_terminal_runs_as_the_script() {
    let dir = scratch("stdin-pipe");
    let out = rlua(&dir).stdin("print('piped', select('#', ...))\n").run();
    out.assert_code(0);
    assert_eq!(out.stdout, "piped\t0\n", "no banner, no prompt, just the chunk\n{}", out.describe());

    let out = rlua(&dir).stdin("").run();
    out.assert_code(0);
    assert_eq!(out.stdout, "", "{}", out.describe());

    let out = rlua(&dir).stdin("error('from pipe')\n").run();
    out.assert_code(1);
    assert_eq!(out.stderr_first_line(), "rlua-net: stdin:1: from pipe", "{}", out.describe());
}

#[test]
fn stdin_script_skips_a_first_hash_line() {
    let dir = scratch("stdin-hash");
    let out = rlua(&dir).arg("-").stdin("#!/whatever\nprint(debug.getinfo(1, 'l').currentline)\n").run();
    out.assert_code(0);
    assert_eq!(out.stdout, "2\n", "{}", out.describe());
}

// ---------------------------------------------------------------- exit status

#[test]
fn finished_script_exits_0() {
    let dir = scratch("ok");
    dir.write("s.lua", "print('done')\n");
    let out = rlua(&dir).arg("s.lua").run();
    out.assert_code(0);
    assert_eq!(out.stdout, "done\n", "{}", out.describe());
    assert_eq!(out.stderr, "", "{}", out.describe());
}

#[test]
fn script_exits_0_after_the_event_loop_drains() {
    let dir = scratch("loop");
    dir.write(
        "s.lua",
        "local core = require('rluanet.core')\nlocal t = core.timer()\n\
         t:on(function() print('tick') end)\nt:start(0.05)\nprint('main done')\n",
    );
    let out = rlua(&dir).arg("s.lua").run();
    out.assert_code(0);
    assert_eq!(out.stdout, "main done\ntick\n", "{}", out.describe());
}

#[test]
fn os_exit_sets_the_status() {
    let dir = scratch("os-exit");
    for (code, want) in
        [("os.exit(7)", 7), ("os.exit(0)", 0), ("os.exit(true)", 0), ("os.exit(false)", 1), ("os.exit()", 0)]
    {
        let out = rlua(&dir).args(["-e", code]).run();
        out.assert_code(want);
    }
}

#[test]
fn os_exit_leaves_at_once_with_timers_pending() {
    let dir = scratch("os-exit-timer");
    dir.write(
        "s.lua",
        "local core = require('rluanet.core')\nlocal t = core.timer()\n\
         t:on(function() print('FIRED') end)\nt:start(600)\nos.exit(3)\n",
    );
    let out = rlua(&dir).arg("s.lua").run();
    assert!(!out.timed_out, "os.exit must not wait for the timer\n{}", out.describe());
    out.assert_code(3);
    assert!(!out.stdout.contains("FIRED"), "{}", out.describe());
}

#[test]
fn os_exit_from_a_callback() {
    let dir = scratch("os-exit-cb");
    dir.write(
        "s.lua",
        "local core = require('rluanet.core')\nlocal t = core.timer()\nlocal other = core.timer()\n\
         other:on(function() print('OTHER') end)\nother:start(600)\n\
         t:on(function() print('tick') os.exit(5) end)\nt:start(0.05, 0.05)\n",
    );
    let out = rlua(&dir).arg("s.lua").run();
    assert!(!out.timed_out, "{}", out.describe());
    out.assert_code(5);
    assert_eq!(out.stdout, "tick\n", "{}", out.describe());
}

#[test]
fn os_exit_flushes_pending_output() {
    let dir = scratch("os-exit-flush");
    let out = rlua(&dir).args(["-e", "io.write('no newline') io.stdout:write(' more') os.exit(4)"]).run();
    out.assert_code(4);
    assert_eq!(out.stdout, "no newline more", "{}", out.describe());
}

#[test]
fn missing_script_fails_with_status_1() {
    let dir = scratch("missing");
    let (ours, theirs) = both(&dir, &["nonexistent.lua"], None);
    ours.assert_code(1);
    assert!(ours.stderr.starts_with("rlua-net: cannot open nonexistent.lua"), "{}", ours.describe());
    if let Some(lua) = theirs {
        assert_eq!(lua.code, Some(1));
    }
}

#[test]
fn syntax_error_fails_with_status_1_and_lua_message() {
    let dir = scratch("syntax");
    dir.write("s.lua", "local ok = 1\nx = = 1\n");
    let (ours, theirs) = both(&dir, &["s.lua"], None);
    ours.assert_code(1);
    assert_eq!(ours.stderr_first_line(), "rlua-net: s.lua:2: unexpected symbol near '='", "{}", ours.describe());
    if let Some(lua) = theirs {
        assert_eq!(lua.code, Some(1));
        assert_eq!(
            lua.stderr_first_line().split_once(": ").map(|x| x.1),
            ours.stderr_first_line().split_once(": ").map(|x| x.1)
        );
    }
    let out = rlua(&dir).args(["-e", "x ="]).run();
    out.assert_code(1);
    assert_eq!(
        out.stderr_first_line(),
        "rlua-net: (command line):1: unexpected symbol near <eof>",
        "{}",
        out.describe()
    );
}

// ---------------------------------------------------------------- error format

/// The traceback entries (without the leading tab) after "stack traceback:".
fn traceback(stderr: &str) -> Vec<String> {
    stderr.lines().skip_while(|l| *l != "stack traceback:").skip(1).map(|l| l.trim_start().to_string()).collect()
}

#[test]
fn uncaught_error_prints_message_and_traceback() {
    let dir = scratch("error");
    dir.write("e.lua", "local x = 1\nlocal y = 2\nerror('boom')\n");
    let (ours, theirs) = both(&dir, &["e.lua"], None);
    ours.assert_code(1);
    let lines: Vec<&str> = ours.stderr.lines().collect();
    assert_eq!(lines.first().copied(), Some("rlua-net: e.lua:3: boom"), "{}", ours.describe());
    assert_eq!(lines.get(1).copied(), Some("stack traceback:"), "{}", ours.describe());
    let tb = traceback(&ours.stderr);
    assert!(tb.iter().any(|l| l == "e.lua:3: in main chunk"), "{}", ours.describe());
    assert!(ours.stdout.is_empty(), "{}", ours.describe());
    if let Some(lua) = theirs {
        assert_eq!(lua.code, Some(1));
        assert_eq!(lua.stderr.lines().next().and_then(|l| l.split_once(": ")).map(|x| x.1), Some("e.lua:3: boom"));
    }
}

#[test]
fn traceback_starts_at_the_erroring_function_as_in_lua() {
    // lua prints the innermost frame first: "[C]: in function 'error'", and ends with "[C]: in ?".
    let dir = scratch("traceback");
    dir.write("e.lua", "local function inner()\n  error('deep')\nend\ninner()\n");
    let (ours, theirs) = both(&dir, &["e.lua"], None);
    ours.assert_code(1);
    assert_eq!(ours.stderr_first_line(), "rlua-net: e.lua:2: deep", "{}", ours.describe());
    let tb = traceback(&ours.stderr);
    assert_eq!(tb.first().map(String::as_str), Some("[C]: in function 'error'"), "{}", ours.describe());
    let inner = tb.iter().position(|l| l.starts_with("e.lua:2: in ")).unwrap_or(usize::MAX);
    let main = tb.iter().position(|l| l == "e.lua:4: in main chunk").unwrap_or(usize::MAX);
    assert!(inner < main && main != usize::MAX, "innermost first, main chunk later\n{}", ours.describe());
    if let Some(lua) = theirs {
        let want = traceback(&lua.stderr);
        assert_eq!(tb, want, "traceback differs from lua5.4's\n{}", ours.describe());
    }
}

#[test]
fn runtime_error_message_names_the_culprit() {
    let dir = scratch("runtime-error");
    dir.write("e.lua", "local t = nil\nprint(t.field)\n");
    let out = rlua(&dir).arg("e.lua").run();
    out.assert_code(1);
    assert_eq!(
        out.stderr_first_line(),
        "rlua-net: e.lua:2: attempt to index a nil value (local 't')",
        "{}",
        out.describe()
    );
    assert!(out.stderr.contains("stack traceback:"), "{}", out.describe());
}

#[test]
fn error_in_exec_chunk_names_the_command_line() {
    let dir = scratch("exec-error");
    let out = rlua(&dir).args(["-e", "local a = 1\nerror('in e')"]).run();
    out.assert_code(1);
    assert_eq!(out.stderr_first_line(), "rlua-net: (command line):2: in e", "{}", out.describe());
    assert!(out.stderr.contains("stack traceback:"), "{}", out.describe());
}

#[test]
fn error_objects_that_are_not_strings_as_in_lua() {
    let dir = scratch("error-object");
    for (code, want) in [
        ("error({})", "rlua-net: (error object is a table value)"),
        ("error(nil)", "rlua-net: (error object is a nil value)"),
        ("error(setmetatable({}, {__tostring = function() return 'custom' end}))", "rlua-net: custom"),
        ("error(42)", "rlua-net: 42"),
    ] {
        let out = rlua(&dir).args(["-e", code]).run();
        out.assert_code(1);
        assert_eq!(out.stderr_first_line(), want, "{}", out.describe());
    }
}

#[test]
fn error_in_a_callback_after_the_main_chunk() {
    let dir = scratch("cb-error");
    dir.write(
        "s.lua",
        "local core = require('rluanet.core')\nlocal t = core.timer()\n\
         t:on(function()\n  error('in callback')\nend)\nt:start(0.05)\n",
    );
    let out = rlua(&dir).arg("s.lua").run();
    out.assert_code(1);
    assert_eq!(out.stderr_first_line(), "rlua-net: s.lua:4: in callback", "{}", out.describe());
    assert!(out.stderr.contains("stack traceback:"), "{}", out.describe());
}

// ---------------------------------------------------------------- shebang scripts

#[test]
fn shebang_script_runs_directly_and_keeps_line_numbers() {
    let dir = scratch("shebang");
    assert!(BIN.len() < 200, "binary path too long for a shebang line: {BIN}");
    let script = dir
        .write_executable("tool.lua", &format!("#!{BIN}\nprint('hi', arg[0], arg[1], arg[2])\nerror('line three')\n"));
    let out = Run::program(&script).cwd(dir.path()).args(["a", "b"]).run();
    out.assert_code(1);
    let path = script.to_string_lossy();
    assert_eq!(out.stdout, format!("hi\t{path}\ta\tb\n"), "{}", out.describe());
    assert_eq!(out.stderr_first_line(), format!("rlua-net: {path}:3: line three"), "{}", out.describe());
}

#[test]
fn shebang_script_without_error_exits_0() {
    let dir = scratch("shebang-ok");
    let script = dir.write_executable("ok.lua", &format!("#!{BIN}\nprint(debug.getinfo(1, 'l').currentline)\n"));
    let out = Run::program(&script).cwd(dir.path()).run();
    out.assert_code(0);
    assert_eq!(out.stdout, "2\n", "{}", out.describe());
}

#[test]
fn env_shebang_with_dialect_all() {
    let dir = scratch("env-shebang");
    let script = dir.write_executable(
        "tool.lua",
        &format!("#!/usr/bin/env -S {BIN} --dialect all\nprint('hi', arg[-2], arg[-1], arg[1])\nerror('line three')\n"),
    );
    let out = Run::program(&script).cwd(dir.path()).arg("x").run();
    out.assert_code(1);
    assert_eq!(out.stdout, "hi\t--dialect\tall\tx\n", "{}", out.describe());
    let path = script.to_string_lossy();
    assert_eq!(out.stderr_first_line(), format!("rlua-net: {path}:3: line three"), "{}", out.describe());
}

#[test]
fn hash_first_line_is_skipped_when_run_by_name() {
    let dir = scratch("hash");
    dir.write("h.lua", "# a comment line, not Lua\nprint('ok')\nerror('third')\n");
    let (ours, theirs) = both(&dir, &["h.lua"], None);
    ours.assert_code(1);
    assert_eq!(ours.stdout, "ok\n", "{}", ours.describe());
    assert_eq!(ours.stderr_first_line(), "rlua-net: h.lua:3: third", "{}", ours.describe());
    if let Some(lua) = theirs {
        assert_eq!(lua.stdout, "ok\n");
    }
}
