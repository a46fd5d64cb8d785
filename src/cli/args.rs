//! The command line, parsed like the reference `lua` 5.4 (options stop at the script)
//! plus rlua-net's own long options.

use clap::{Arg, ArgAction, Command};

/// An `-e` chunk or an `-l` module, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Exec(String),
    /// `-l mod` or `-l g=mod`: global name, module name.
    Require(String, String),
}

#[derive(Debug, Default)]
pub struct Args {
    pub steps: Vec<Step>,
    pub interactive: bool,
    pub show_version: bool,
    pub ignore_env: bool,
    pub warnings: bool,
    pub dialect: Option<String>,
    pub list_dialects: bool,
    pub help: bool,
    pub version: bool,
    /// `--generate WHAT`: print the manual page or a shell's completion script.
    pub generate: Option<String>,
    /// The script (`-` is standard input) and its arguments.
    pub script: Option<String>,
    pub script_args: Vec<String>,
    /// The whole argv, for the `arg` table.
    pub argv: Vec<String>,
    /// Index of the script in `argv` (0 when there is none, as in `lua`).
    pub script_index: usize,
}

/// The command line as `--help`, the manual page and the shell completions show it. Each
/// argument's `help` is the one-line text of `--help`; `long_help` is the fuller text the
/// manual page uses (`--help` prints only the short one).
pub fn command() -> Command {
    Command::new("rlua-net")
        .about("A Lua 5.4 runtime with batteries-included networking")
        .override_usage("rlua-net [options] [script [args...]]")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args_override_self(false)
        .arg(Arg::new("execute").short('e').value_name("chunk").action(ArgAction::Append).allow_hyphen_values(true).help("execute string 'chunk'").long_help(
            "Run the Lua string chunk. The -e and -l options run in the order given, after LUA_INIT and before the script.",
        ))
        .arg(Arg::new("library").short('l').value_name("mod").action(ArgAction::Append).help("require library 'mod' into global 'mod' (or 'g=mod' into global 'g')").long_help(
            "Require module mod and store what it returns in the global mod. Written as g=mod, the result goes into the global g instead.",
        ))
        .arg(Arg::new("interactive").short('i').action(ArgAction::SetTrue).help("enter interactive mode after executing 'script'").long_help(
            "Start the interactive prompt after running the script and the -e and -l options. The version line is printed first, as with -v.",
        ))
        .arg(Arg::new("lua-version").short('v').action(ArgAction::SetTrue).help("show version information").long_help(
            "Print the version line (rlua-net, Lua and the TLS library) and go on: unlike --version it does not exit, and with no script it starts no prompt.",
        ))
        .arg(Arg::new("ignore-env").short('E').action(ArgAction::SetTrue).help("ignore environment variables (LUA_INIT)").long_help(
            "Ignore the environment: LUA_INIT_5_4 and LUA_INIT are not run, and require does not read LUA_PATH, LUA_PATH_5_4, LUA_CPATH or LUA_CPATH_5_4.",
        ))
        .arg(Arg::new("warnings").short('W').action(ArgAction::SetTrue).help("turn warnings on").long_help(
            "Turn Lua warnings on, as warn(\"@on\") does. Warnings are written to standard error.",
        ))
        .arg(Arg::new("dialect").short('d').long("dialect").value_name("NAME").help("API dialect: all, luanet, hammerspoon, pragtical, nodemcu [env: RLUA_NET_DIALECT]").long_help(
            "Use the API dialect NAME: all (the default), nodemcu, pragtical, hammerspoon (or hs) or luanet (or lua-net), in any letter case. This option wins over a dialect named by the script itself and over RLUA_NET_DIALECT; see DIALECTS.",
        ))
        .arg(Arg::new("list-dialects").long("list-dialects").action(ArgAction::SetTrue).help("list the dialects and exit").long_help(
            "List every dialect with its aliases and say which ones this build does not have yet, then exit.",
        ))
        .arg(Arg::new("help").short('h').long("help").action(ArgAction::SetTrue).help("print this help and exit").long_help("Print a summary of the options and exit."))
        .arg(Arg::new("version").long("version").action(ArgAction::SetTrue).help("print version information and exit").long_help(
            "Print the versions of rlua-net, of the Lua it embeds and of the TLS library it uses, then exit.",
        ))
        .arg(Arg::new("script").value_name("script").help("script to run ('-' for standard input)").long_help(
            "The Lua file to run; - runs standard input. A first line starting with # is skipped, so scripts can start with #!.",
        ))
        .arg(Arg::new("args").value_name("args").num_args(0..).help("arguments for the script").long_help(
            "Arguments for the script: it finds them in arg[1], arg[2], ... and as the values of ... in its main chunk. Everything after the script is an argument, options included.",
        ))
        .after_help("With no script, rlua-net starts an interactive prompt (or runs standard input when it is not a terminal).\nOptions after the script are the script's arguments. '--' stops option handling.")
}

/// What the parser accepts: [`command`] plus the hidden `--generate WHAT`, which prints the
/// manual page or a completion script (see [`super::generate`]). It is left out of
/// `--help`, the manual page and the completions on purpose: it is for packagers.
fn parser() -> Command {
    command().arg(Arg::new("generate").long("generate").value_name("WHAT").hide(true))
}

/// Where the script stands in `argv`, found as `lua` does: the first argument that is not
/// an option (or not an option's value), `-`, or the one after `--`.
/// Returns (end of the options, index of the script).
fn find_script(argv: &[String]) -> (usize, Option<usize>) {
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        match a {
            "--" => return (i, (i + 1 < argv.len()).then_some(i + 1)),
            "-" => return (i, Some(i)),
            "-e" | "-l" | "-d" | "--dialect" | "--generate" => i += 2,
            _ if a.starts_with('-') => i += 1,
            _ => return (i, Some(i)),
        }
    }
    (argv.len(), None)
}

/// A shebang line `#!/usr/bin/rlua-net --dialect NAME` reaches us as one argument
/// `"--dialect NAME"` (Linux passes the rest of the line whole): split it.
fn split_shebang_option(mut argv: Vec<String>) -> Vec<String> {
    if let Some(first) = argv.get(1) {
        if (first.starts_with("--dialect ") || first.starts_with("-d ")) && first.split_whitespace().count() == 2 {
            let parts: Vec<String> = first.split_whitespace().map(str::to_string).collect();
            argv.splice(1..2, parts);
        }
    }
    argv
}

/// Parses `argv` (program name first). Errors carry `lua`-style text.
pub fn parse(argv: Vec<String>) -> Result<Args, String> {
    let argv = split_shebang_option(argv);
    let (options_end, script_at) = find_script(&argv);
    let m = parser().try_get_matches_from(&argv[..options_end.min(argv.len())]).map_err(|e| {
        let text = e.to_string();
        text.lines().next().unwrap_or("").trim_start_matches("error: ").to_string()
    })?;
    let mut steps: Vec<(usize, Step)> = Vec::new();
    if let (Some(vals), Some(idx)) = (m.get_many::<String>("execute"), m.indices_of("execute")) {
        for (v, i) in vals.zip(idx) {
            steps.push((i, Step::Exec(v.clone())));
        }
    }
    if let (Some(vals), Some(idx)) = (m.get_many::<String>("library"), m.indices_of("library")) {
        for (v, i) in vals.zip(idx) {
            let (g, module) = match v.split_once('=') {
                Some((g, module)) => (g.to_string(), module.to_string()),
                None => (v.clone(), v.clone()),
            };
            steps.push((i, Step::Require(g, module)));
        }
    }
    steps.sort_by_key(|(i, _)| *i);
    let script = script_at.map(|i| argv[i].clone());
    let script_args: Vec<String> = script_at.map(|i| argv[i + 1..].to_vec()).unwrap_or_default();
    let script_index = script_at.unwrap_or(0);
    Ok(Args {
        steps: steps.into_iter().map(|(_, s)| s).collect(),
        interactive: m.get_flag("interactive"),
        show_version: m.get_flag("lua-version"),
        ignore_env: m.get_flag("ignore-env"),
        warnings: m.get_flag("warnings"),
        dialect: m.get_one::<String>("dialect").cloned(),
        list_dialects: m.get_flag("list-dialects"),
        help: m.get_flag("help"),
        version: m.get_flag("version"),
        generate: m.get_one::<String>("generate").cloned(),
        script,
        script_args,
        argv,
        script_index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Args {
        parse(a.iter().map(|s| s.to_string()).collect()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn options_stop_at_the_script() {
        let a = p(&["rlua-net", "-e", "x=1", "s.lua", "-e", "y"]);
        assert_eq!(a.steps, vec![Step::Exec("x=1".into())]);
        assert_eq!(a.script.as_deref(), Some("s.lua"));
        assert_eq!(a.script_args, vec!["-e", "y"]);
        assert_eq!(a.script_index, 3);
    }

    #[test]
    fn exec_and_require_keep_their_order() {
        let a = p(&["rlua-net", "-l", "g=m", "-e", "a", "-lx"]);
        assert_eq!(
            a.steps,
            vec![Step::Require("g".into(), "m".into()), Step::Exec("a".into()), Step::Require("x".into(), "x".into())]
        );
    }

    #[test]
    fn double_dash_and_stdin() {
        let a = p(&["rlua-net", "--", "-"]);
        assert_eq!(a.script.as_deref(), Some("-"));
        let a = p(&["rlua-net", "-"]);
        assert_eq!(a.script.as_deref(), Some("-"));
    }

    #[test]
    fn everything_after_the_script_belongs_to_it() {
        let a = p(&["rlua-net", "s.lua", "--", "--help", "-d", "x"]);
        assert_eq!(a.script.as_deref(), Some("s.lua"));
        assert_eq!(a.script_args, vec!["--", "--help", "-d", "x"]);
        assert!(!a.help);
        let a = p(&["rlua-net", "-d", "all", "--", "s.lua", "x"]);
        assert_eq!((a.script.as_deref(), a.script_index), (Some("s.lua"), 4));
        assert_eq!(a.dialect.as_deref(), Some("all"));
    }

    #[test]
    fn generate_takes_a_value_and_stays_out_of_help() {
        let a = p(&["rlua-net", "--generate", "man"]);
        assert_eq!((a.generate.as_deref(), a.script.as_deref()), (Some("man"), None));
        let a = p(&["rlua-net", "--generate=bash"]);
        assert_eq!(a.generate.as_deref(), Some("bash"));
        // After the script it is the script's argument, like any option.
        let a = p(&["rlua-net", "s.lua", "--generate", "man"]);
        assert_eq!((a.generate, a.script_args.len()), (None, 2));
        assert!(!command().render_help().to_string().contains("generate"));
    }

    #[test]
    fn unknown_option_is_an_error() {
        assert!(parse(vec!["rlua-net".into(), "-x".into()]).is_err());
    }
}
