//! Packaging and documentation: the manual page agrees with `--help` and is up to date, it
//! renders cleanly and its example runs; the completion scripts load; the .deb builds and its
//! binary runs a loopback echo from the unpacked package; the Homebrew formula and its
//! tarball script hold together.
//!
//! Tools that only some machines have (dpkg-deb, man, groff, zsh, fish, ruby) are used when
//! present. When the environment variable `CI` is set, a missing one fails the test instead of
//! skipping it (.ci/run installs them all but ruby, which is always optional). Every process
//! runs under a hang limit; nothing here measures speed.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rlua-net");
const REPO: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Hang protection for quick commands.
const QUICK: Duration = Duration::from_secs(60);
/// Hang protection for the package build (strips and compresses the executable).
const SLOW: Duration = Duration::from_secs(600);

/// The loopback echo every packaged binary must run: a server and a client in one script.
const ECHO_SCRIPT: &str = r#"local core = require "rluanet.core"
local server = assert(core.listen("127.0.0.1", 0))
server:on(function(event, conn)
  if event ~= "accept" then return end
  conn:on(function(ev, data)
    if ev == "data" then conn:queue(data) end
    if ev == "eof" then conn:close() end
  end)
  conn:watch("data")
  server:close()
end)
server:watch(true)
local _, port = server:local_addr()
local client = core.connect("127.0.0.1", port)
client:queue("ping over loopback\n")
local reply = client:read_until("\n")
while reply == false and core.wait(client, "r", 10) do
  reply = client:read_until("\n")
end
io.write("echoed: ", reply or "nothing")
client:close()
"#;

// ---------------------------------------------------------------------------------------
// Helpers

struct Out {
    what: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Out {
    fn describe(&self) -> String {
        format!(
            "{} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.status, self.stdout, self.stderr
        )
    }

    fn ok(self) -> Out {
        assert!(self.status.success(), "command failed:\n{}", self.describe());
        self
    }
}

/// Runs `cmd` to the end with standard input closed; kills it and fails after `limit`.
fn run(cmd: &mut Command, limit: Duration) -> Out {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out_pipe.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?} (hang protection)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    Out { what, status, stdout, stderr }
}

fn rlua(args: &[&str]) -> Out {
    run(Command::new(BIN).args(args).env_remove("RLUA_NET_DIALECT"), QUICK).ok()
}

/// Whether `name` is an executable on PATH.
fn have(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false)
}

/// Whether `name` may be used: present, or missing outside CI (the caller then skips).
/// Under CI a missing tool fails the test: .ci/run installs it.
fn need(name: &str) -> bool {
    if have(name) {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "'{name}' is not installed, but .ci/run installs it");
    eprintln!("skipping: '{name}' is not installed");
    false
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("rlua-net-pkg-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn repo(rel: &str) -> PathBuf {
    Path::new(REPO).join(rel)
}

/// The options `--help` lists, each with its value name ("" for a flag): `-d` and
/// `--dialect` both map to "NAME". Also returns the positional arguments' names.
fn help_options(help: &str) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let mut options = BTreeSet::new();
    let mut positionals = BTreeSet::new();
    let mut section = "";
    for line in help.lines() {
        if !line.starts_with(' ') {
            section = line.trim_end_matches(':');
            continue;
        }
        // "  -d, --dialect <NAME>  text": the part before the first run of two spaces.
        let head = line.trim_start().split("  ").next().unwrap_or("");
        match section {
            "Options" => options.extend(option_names(head)),
            "Arguments" => {
                positionals.insert(head.trim_start_matches('[').split(']').next().unwrap_or("").to_string());
            }
            _ => {}
        }
    }
    (options, positionals)
}

/// `-d, --dialect <NAME>` → {("-d","NAME"), ("--dialect","NAME")}.
fn option_names(head: &str) -> Vec<(String, String)> {
    let value = head.split('<').nth(1).and_then(|v| v.split('>').next()).unwrap_or("").to_string();
    head.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| t.starts_with('-') && t.len() > 1)
        .map(|t| (t.to_string(), value.clone()))
        .collect()
}

/// Plain text from a line of roff: font changes dropped, escapes resolved.
fn unroff(line: &str) -> String {
    line.replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fP", "")
        .replace("\\(rs", "\\")
        .replace("\\(dq", "\"")
        .replace("\\*(Aq", "'")
        .replace("\\-", "-")
        .replace("\\&", "")
}

/// The lines of the roff section `name` (from `.SH name` to the next `.SH`).
fn man_section<'a>(page: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!(".SH {name}");
    let header_quoted = format!(".SH \"{name}\"");
    page.lines()
        .skip_while(|l| *l != header && *l != header_quoted)
        .skip(1)
        .take_while(|l| !l.starts_with(".SH"))
        .collect()
}

/// The options and positionals the manual page's OPTIONS section lists: the tag line after
/// each `.TP`.
fn man_options(page: &str) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let section = man_section(page, "OPTIONS");
    assert!(!section.is_empty(), "the manual page has no OPTIONS section");
    let mut options = BTreeSet::new();
    let mut positionals = BTreeSet::new();
    for pair in section.windows(2) {
        if pair[0] != ".TP" {
            continue;
        }
        let tag = unroff(pair[1]);
        if tag.starts_with('[') {
            positionals.insert(tag.trim_start_matches('[').split(']').next().unwrap_or("").to_string());
        } else {
            options.extend(option_names(&tag));
        }
    }
    (options, positionals)
}

/// The dialect names `--list-dialects` prints (first column, aliases included), and which
/// of them this build has.
fn dialects() -> Vec<(String, bool)> {
    let listing = rlua(&["--list-dialects"]).stdout;
    let mut names = Vec::new();
    for line in listing.lines() {
        let available = !line.contains("not available");
        // "luanet, lua-net      summary": names are separated by ", " before the padding.
        let head = line.split("  ").next().unwrap_or("");
        for name in head.split(", ") {
            names.push((name.trim().to_string(), available));
        }
    }
    assert!(names.iter().any(|(n, _)| n == "all"), "--list-dialects shows no 'all':\n{listing}");
    names
}

// ---------------------------------------------------------------------------------------
// The manual page

#[test]
fn help_and_the_man_page_list_the_same_options() {
    let help = rlua(&["--help"]).stdout;
    let (help_opts, help_pos) = help_options(&help);
    for expected in
        ["-e", "-l", "-i", "-v", "-E", "-W", "-d", "--dialect", "--list-dialects", "-h", "--help", "--version"]
    {
        assert!(help_opts.iter().any(|(o, _)| o == expected), "--help lost {expected}; it lists {help_opts:?}");
    }
    assert!(!help_opts.iter().any(|(o, _)| o == "--generate"), "--generate is for packagers and stays hidden");

    let generated = rlua(&["--generate", "man"]).stdout;
    let committed = read(&repo("man/rlua-net.1"));
    for (name, page) in [("rlua-net --generate man", &generated), ("man/rlua-net.1", &committed)] {
        let (man_opts, man_pos) = man_options(page);
        let only_help: Vec<_> = help_opts.difference(&man_opts).collect();
        let only_man: Vec<_> = man_opts.difference(&help_opts).collect();
        assert!(
            only_help.is_empty() && only_man.is_empty(),
            "{name} and --help disagree.\nonly in --help: {only_help:?}\nonly in the page: {only_man:?}"
        );
        assert_eq!(man_pos, help_pos, "{name} and --help list different positional arguments");
    }
}

#[test]
fn the_committed_man_page_is_the_generated_one() {
    let generated = rlua(&["--generate", "man"]).stdout;
    let committed = read(&repo("man/rlua-net.1"));
    if generated != committed {
        let first = generated.lines().zip(committed.lines()).position(|(a, b)| a != b);
        panic!(
            "man/rlua-net.1 is out of date (first difference at line {}).\n\
             Regenerate it with: cargo run -q -- --generate man > man/rlua-net.1",
            first.map_or_else(|| "end".to_string(), |i| (i + 1).to_string())
        );
    }
}

#[test]
fn the_man_page_documents_environment_dialects_exit_status_files_and_examples() {
    let page = rlua(&["--generate", "man"]).stdout;
    assert!(page.starts_with(".\\\""), "the page should open with its provenance comment");
    assert!(page.contains(&format!("\"rlua-net {VERSION}\"")), "the .TH line should carry the version");
    for section in
        ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "DIALECTS", "EXIT STATUS", "FILES", "EXAMPLES"]
    {
        assert!(!man_section(&page, section).is_empty(), "the page has no {section} section");
    }
    for marker in ["@OPTIONS@", "@VERSION@", ".\\\"#"] {
        assert!(!page.contains(marker), "template marker {marker} left in the page");
    }

    // Every environment variable --help mentions has an entry.
    let help = rlua(&["--help"]).stdout;
    let environment = man_section(&page, "ENVIRONMENT").iter().map(|l| unroff(l)).collect::<Vec<_>>().join("\n");
    for var in help.split("[env: ").skip(1).filter_map(|s| s.split(']').next()) {
        assert!(environment.contains(var), "ENVIRONMENT does not mention {var}");
    }
    for var in ["LUA_INIT", "LUA_INIT_5_4", "XDG_STATE_HOME"] {
        assert!(environment.contains(var), "ENVIRONMENT does not mention {var}");
    }
    // Every dialect name (and alias) --list-dialects knows.
    let dialects_text = man_section(&page, "DIALECTS").iter().map(|l| unroff(l)).collect::<Vec<_>>().join("\n");
    for (name, _) in dialects() {
        assert!(dialects_text.contains(&name), "DIALECTS does not mention '{name}'");
    }
    let files = man_section(&page, "FILES").iter().map(|l| unroff(l)).collect::<Vec<_>>().join("\n");
    assert!(files.contains("rlua-net/history"), "FILES does not name the history file");
    let status = man_section(&page, "EXIT STATUS").iter().map(|l| unroff(l)).collect::<Vec<_>>().join("\n");
    assert!(status.contains("os.exit"), "EXIT STATUS does not cover os.exit");
}

#[test]
fn the_man_page_renders_cleanly() {
    let page = repo("man/rlua-net.1");
    if need("groff") {
        // -ww: all warnings; -z: no output, only the diagnostics.
        let out = run(Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(&page), QUICK).ok();
        assert!(out.stderr.trim().is_empty(), "groff warns about the manual page:\n{}", out.stderr);
    }
    if need("man") {
        let out = run(
            Command::new("man")
                .arg("-l")
                .arg(&page)
                .env("MANWIDTH", "80")
                .env("MANPAGER", "cat")
                .env_remove("MAN_KEEP_FORMATTING"),
            QUICK,
        )
        .ok();
        let text = out.stdout;
        for heading in ["NAME", "SYNOPSIS", "OPTIONS", "ENVIRONMENT", "DIALECTS", "EXIT STATUS", "FILES", "EXAMPLES"] {
            assert!(text.lines().any(|l| l == heading), "`man -l` shows no {heading} heading:\n{text}");
        }
        assert!(text.contains("--list-dialects") && text.contains("RLUA_NET_DIALECT"), "`man -l` output:\n{text}");
        assert!(text.lines().all(|l| !l.contains("\\f") && !l.starts_with('.')), "raw roff in `man -l`:\n{text}");
    }
}

#[test]
fn the_man_page_example_runs() {
    // The loopback echo in EXAMPLES, taken from between its .nf and .fi.
    let page = read(&repo("man/rlua-net.1"));
    let examples = man_section(&page, "EXAMPLES");
    let start = examples.iter().position(|l| l.contains("echo over loopback")).expect("no loopback echo example");
    let script: Vec<String> = examples[start..]
        .iter()
        .skip_while(|l| **l != ".nf")
        .skip(1)
        .take_while(|l| **l != ".fi")
        .map(|l| unroff(l))
        .collect();
    assert!(script.len() > 5, "the example is too short: {script:?}");
    let dir = TempDir::new("example");
    let file = dir.write("echo.lua", &(script.join("\n") + "\n"));
    let out = run(Command::new(BIN).arg(&file), QUICK).ok();
    assert_eq!(out.stdout, "echoed: hello\n", "{}", out.describe());
}

// ---------------------------------------------------------------------------------------
// Shell completions

#[test]
fn unknown_generate_targets_are_refused() {
    let out = run(Command::new(BIN).args(["--generate", "tcsh"]), QUICK);
    assert_eq!(out.status.code(), Some(1), "{}", out.describe());
    assert!(out.stderr.contains("man, bash, zsh, fish"), "{}", out.describe());
    assert!(out.stdout.is_empty(), "{}", out.describe());
}

#[test]
fn bash_completion_loads_and_completes_options_and_dialects() {
    if !need("bash") {
        return;
    }
    let dir = TempDir::new("bash");
    let script = dir.write("rlua-net.bash", &rlua(&["--generate", "bash"]).stdout);
    run(Command::new("bash").arg("-n").arg(&script), QUICK).ok();

    // Source it in a non-interactive bash, find the function it registered and call it as
    // bash's completion would, for `rlua-net --dia<TAB>` and `rlua-net -d <TAB>`.
    let driver = r#"
set -e
source "$1"
spec=$(complete -p rlua-net)
echo "spec: $spec"
fn=${spec##*-F }
fn=${fn%% *}
COMP_WORDS=(rlua-net --dia); COMP_CWORD=1; COMPREPLY=()
"$fn" rlua-net --dia rlua-net
echo "long: ${COMPREPLY[*]}"
COMP_WORDS=(rlua-net -); COMP_CWORD=1; COMPREPLY=()
"$fn" rlua-net - rlua-net
echo "all: ${COMPREPLY[*]}"
COMP_WORDS=(rlua-net -d ''); COMP_CWORD=2; COMPREPLY=()
"$fn" rlua-net '' -d
echo "dialects: ${COMPREPLY[*]}"
"#;
    let out = run(Command::new("bash").arg("-c").arg(driver).arg("bash").arg(&script), QUICK).ok();
    assert!(out.stderr.trim().is_empty(), "sourcing the completion printed errors:\n{}", out.describe());
    let line = |key: &str| -> Vec<String> {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no '{key}' line:\n{}", out.describe()))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert!(line("spec:").iter().any(|w| w == "rlua-net"), "{}", out.describe());
    assert_eq!(line("long:"), ["--dialect"], "{}", out.describe());

    // Every option of --help is offered, and nothing else.
    let (help_opts, _) = help_options(&rlua(&["--help"]).stdout);
    let offered: BTreeSet<String> = line("all:").into_iter().collect();
    let listed: BTreeSet<String> = help_opts.into_iter().map(|(o, _)| o).collect();
    assert_eq!(offered, listed, "bash completion and --help differ");

    // The dialects this build has, aliases included, and no other.
    let offered: BTreeSet<String> = line("dialects:").into_iter().collect();
    let available: BTreeSet<String> = dialects().into_iter().filter(|(_, a)| *a).map(|(n, _)| n).collect();
    assert_eq!(offered, available, "bash completion offers the wrong dialects");
}

#[test]
fn zsh_and_fish_completions_parse() {
    let dir = TempDir::new("shells");
    let zsh = dir.write("_rlua-net", &rlua(&["--generate", "zsh"]).stdout);
    let fish = dir.write("rlua-net.fish", &rlua(&["--generate", "fish"]).stdout);
    assert!(read(&zsh).starts_with("#compdef rlua-net"), "zsh completion:\n{}", read(&zsh));
    assert!(read(&fish).contains("complete -c rlua-net -s d -l dialect"), "fish completion:\n{}", read(&fish));
    if need("zsh") {
        run(Command::new("zsh").arg("-n").arg(&zsh), QUICK).ok();
    }
    if need("fish") {
        run(Command::new("fish").arg("--no-execute").arg(&fish), QUICK).ok();
    }
}

// ---------------------------------------------------------------------------------------
// The Debian package

/// A field of a .deb's control file.
fn deb_field(deb: &Path, field: &str) -> String {
    run(Command::new("dpkg-deb").arg("--field").arg(deb).arg(field), QUICK).ok().stdout.trim().to_string()
}

/// Builds the .deb from the test binary into `out`; returns its path.
fn build_deb(out: &Path, extra: &[&str]) -> PathBuf {
    let built = run(
        Command::new("bash")
            .arg(repo("packaging/deb/build-deb.sh"))
            .arg("--binary")
            .arg(BIN)
            .arg("--out")
            .arg(out)
            .args(extra)
            .env("DEB_MAINTAINER", "Test Builder <test@localhost>"),
        SLOW,
    )
    .ok();
    let deb = PathBuf::from(built.stdout.lines().last().unwrap_or("").trim());
    assert!(deb.is_file(), "build-deb.sh did not name a .deb on its last line:\n{}", built.describe());
    deb
}

/// Package names in a Depends value: "libc6 (>= 2.34), libgcc-s1 (>= 4.2)" → {libc6, libgcc-s1}.
fn depends_names(depends: &str) -> BTreeSet<String> {
    depends
        .split([',', '|'])
        .map(|d| d.split_whitespace().next().unwrap_or("").to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

#[test]
fn the_deb_builds_and_its_binary_runs_from_the_unpacked_root() {
    if !need("dpkg-deb") || !need("dpkg") {
        return;
    }
    let tmp = TempDir::new("deb");
    let deb = build_deb(&tmp.path().join("out"), &[]);

    // Metadata.
    let arch = run(Command::new("dpkg").arg("--print-architecture"), QUICK).ok().stdout.trim().to_string();
    assert_eq!(deb_field(&deb, "Package"), "rlua-net");
    assert_eq!(deb_field(&deb, "Version"), format!("{VERSION}-1"));
    assert_eq!(deb_field(&deb, "Architecture"), arch);
    assert_eq!(deb_field(&deb, "Maintainer"), "Test Builder <test@localhost>");
    assert_eq!(deb_field(&deb, "Section"), "interpreters");
    assert!(deb_field(&deb, "Recommends").contains("ca-certificates"));
    assert!(deb_field(&deb, "Installed-Size").parse::<u64>().is_ok_and(|kib| kib > 0));
    let description = deb_field(&deb, "Description");
    assert!(description.lines().count() > 2, "a short and a long description are expected:\n{description}");

    // Depends: libc6, and the OpenSSL runtime exactly when the executable links it (the
    // default build has OpenSSL inside; `--no-default-features` links libssl.so.3).
    let depends = deb_field(&deb, "Depends");
    let names = depends_names(&depends);
    assert!(names.contains("libc6"), "Depends lacks libc6: {depends}");
    if need("readelf") {
        let dynamic = run(Command::new("readelf").arg("-d").arg(BIN), QUICK).ok().stdout;
        let links_ssl = dynamic.contains("[libssl.so");
        assert_eq!(names.iter().any(|n| n.starts_with("libssl")), links_ssl, "Depends: {depends}\n{dynamic}");
        if dynamic.contains("[libgcc_s.so") {
            assert!(names.iter().any(|n| n.starts_with("libgcc")), "Depends lacks libgcc: {depends}");
        }
    }

    // Contents.
    let listing = run(Command::new("dpkg-deb").arg("--contents").arg(&deb), QUICK).ok().stdout;
    for path in [
        "./usr/bin/rlua-net",
        "./usr/share/man/man1/rlua-net.1.gz",
        "./usr/share/bash-completion/completions/rlua-net",
        "./usr/share/zsh/vendor-completions/_rlua-net",
        "./usr/share/fish/vendor_completions.d/rlua-net.fish",
        "./usr/share/doc/rlua-net/copyright",
        "./usr/share/doc/rlua-net/README.md",
        "./usr/share/doc/rlua-net/changelog.Debian.gz",
        "./usr/share/doc/rlua-net/docs/getting-started.md",
    ] {
        assert!(listing.lines().any(|l| l.ends_with(path)), "{path} is not in the package:\n{listing}");
    }
    assert!(listing.lines().all(|l| l.contains(" root/root ")), "files should belong to root:\n{listing}");
    assert!(
        listing.lines().any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("./usr/bin/rlua-net")),
        "the executable should be mode 0755:\n{listing}"
    );

    // Unpack into a temporary root, check the files against md5sums, and run the packaged
    // binary from there.
    let root = tmp.path().join("root");
    let control = tmp.path().join("control");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root), QUICK).ok();
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control), QUICK).ok();
    let sums =
        run(Command::new("md5sum").arg("-c").arg("--quiet").arg(control.join("md5sums")).current_dir(&root), QUICK);
    assert!(sums.status.success(), "md5sums do not match the files:\n{}", sums.describe());

    let packaged = root.join("usr/bin/rlua-net");
    let version = run(Command::new(&packaged).arg("--version"), QUICK).ok().stdout;
    assert!(version.starts_with(&format!("rlua-net {VERSION} (Lua 5.4")), "--version: {version}");
    let script = tmp.write("echo.lua", ECHO_SCRIPT);
    let echoed = run(Command::new(&packaged).arg(&script).env_remove("RLUA_NET_DIALECT"), QUICK).ok();
    assert_eq!(echoed.stdout, "echoed: ping over loopback\n", "{}", echoed.describe());

    // The packaged manual page is the one the binary generates, and it renders.
    let man_gz = root.join("usr/share/man/man1/rlua-net.1.gz");
    let man = run(Command::new("gzip").arg("-dc").arg(&man_gz), QUICK).ok().stdout;
    assert_eq!(man, rlua(&["--generate", "man"]).stdout, "the packaged manual page differs from --generate man");
    if need("man") {
        let shown = run(Command::new("man").arg("-l").arg(&man_gz).env("MANWIDTH", "80"), QUICK).ok().stdout;
        assert!(shown.contains("RLUA-NET(1)"), "`man -l` of the packaged page:\n{shown}");
    }
    // The packaged bash completion loads.
    let bash_completion = root.join("usr/share/bash-completion/completions/rlua-net");
    if need("bash") {
        let out = run(
            Command::new("bash")
                .arg("-c")
                .arg("source \"$1\" && complete -p rlua-net")
                .arg("bash")
                .arg(&bash_completion),
            QUICK,
        )
        .ok();
        assert!(out.stdout.contains("rlua-net") && out.stderr.is_empty(), "{}", out.describe());
    }
    let copyright = read(&root.join("usr/share/doc/rlua-net/copyright"));
    assert!(copyright.contains("License: MIT") && copyright.contains("Permission is hereby granted"));
}

#[test]
fn deb_dependencies_agree_with_and_without_dpkg_shlibdeps() {
    if !need("dpkg-deb") || !need("dpkg-shlibdeps") {
        return;
    }
    let tmp = TempDir::new("deps");
    let with = build_deb(&tmp.path().join("with"), &[]);
    let without = build_deb(&tmp.path().join("without"), &["--no-shlibdeps"]);
    let (a, b) = (deb_field(&with, "Depends"), deb_field(&without, "Depends"));
    assert_eq!(depends_names(&a), depends_names(&b), "dpkg-shlibdeps: {a}\nfallback: {b}");
}

#[test]
fn build_deb_refuses_a_binary_of_another_version() {
    if !need("dpkg-deb") {
        return;
    }
    let tmp = TempDir::new("stale");
    let fake = tmp.write("rlua-net", "#!/bin/sh\necho 'rlua-net 0.0.0-old (Lua 5.4.0, none)'\n");
    run(Command::new("chmod").arg("755").arg(&fake), QUICK).ok();
    let out = run(
        Command::new("bash")
            .arg(repo("packaging/deb/build-deb.sh"))
            .arg("--binary")
            .arg(&fake)
            .arg("--out")
            .arg(tmp.path()),
        QUICK,
    );
    assert!(!out.status.success(), "a stale binary was packaged:\n{}", out.describe());
    assert!(out.stderr.contains("rebuild"), "{}", out.describe());
}

// ---------------------------------------------------------------------------------------
// Homebrew

#[test]
fn the_homebrew_formula_installs_docs_and_tests_over_loopback() {
    let path = repo("packaging/homebrew/rlua-net.rb");
    let formula = read(&path);
    for needle in [
        "class RluaNet < Formula",
        &format!("rlua-net-{VERSION}.tar.gz"),
        "license \"MIT\"",
        "depends_on \"rust\" => :build",
        "system \"cargo\", \"fetch\", \"--locked\"",
        "\"--offline\"",
        "std_cargo_args",
        "man1.install \"man/rlua-net.1\"",
        "generate_completions_from_executable(bin/\"rlua-net\", \"--generate\")",
        "test do",
    ] {
        assert!(formula.contains(needle), "the formula lacks `{needle}`");
    }
    if have("ruby") {
        let out = run(Command::new("ruby").arg("-c").arg(&path), QUICK).ok();
        assert!(out.stdout.contains("Syntax OK"), "{}", out.describe());
    } else {
        eprintln!("ruby is not installed: the formula's Ruby syntax is not checked");
    }

    // The script of its `test do` block, as the heredoc writes it, runs here.
    let body: Vec<&str> =
        formula.lines().skip_while(|l| !l.contains("<<~LUA")).skip(1).take_while(|l| l.trim() != "LUA").collect();
    assert!(body.len() > 5, "no Lua heredoc in the formula's test block");
    let indent =
        body.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    let script: String =
        body.iter().map(|l| format!("{}\n", l.get(indent..).unwrap_or("").replace("\\\\", "\\"))).collect();
    assert!(script.contains("127.0.0.1"), "the formula's test should use loopback:\n{script}");
    let dir = TempDir::new("brew");
    let file = dir.write("echo.lua", &script);
    let out = run(Command::new(BIN).arg(&file), QUICK).ok();
    let expected = formula
        .lines()
        .find_map(|l| l.trim().strip_prefix("assert_equal \""))
        .and_then(|l| l.split('"').next())
        .expect("the formula's test has no assert_equal")
        .replace("\\n", "\n");
    assert_eq!(out.stdout, expected, "{}", out.describe());
}

#[test]
fn the_homebrew_tarball_script_makes_a_tarball_and_a_matching_formula() {
    if !need("tar") || !need("sha256sum") {
        return;
    }
    let tmp = TempDir::new("tarball");
    let made =
        run(Command::new("bash").arg(repo("packaging/homebrew/make-tarball.sh")).arg("--out").arg(tmp.path()), SLOW)
            .ok();
    let tarball = PathBuf::from(made.stdout.lines().last().unwrap_or("").trim());
    assert!(tarball.ends_with(format!("rlua-net-{VERSION}.tar.gz")), "{}", made.describe());
    let listing = run(Command::new("tar").arg("-tzf").arg(&tarball), QUICK).ok().stdout;
    for file in ["Cargo.toml", "Cargo.lock", "build.rs", "src/main.rs", "man/rlua-net.1", "README.md"] {
        let want = format!("rlua-net-{VERSION}/{file}");
        assert!(listing.lines().any(|l| l == want), "{want} is not in the tarball");
    }
    assert!(!listing.lines().any(|l| l.contains("/target/")), "the tarball holds build output");
    let sha = run(Command::new("sha256sum").arg(&tarball), QUICK).ok().stdout;
    let sha = sha.split_whitespace().next().unwrap_or("");
    let formula = read(&tmp.path().join("rlua-net.rb"));
    assert!(formula.contains(&format!("sha256 \"{sha}\"")), "the formula's sha256 is not the tarball's:\n{formula}");
    assert!(formula.contains(&format!("url \"file://{}\"", tarball.display())), "url:\n{formula}");
    if have("ruby") {
        run(Command::new("ruby").arg("-c").arg(tmp.path().join("rlua-net.rb")), QUICK).ok();
    }
}

// ---------------------------------------------------------------------------------------
// Documentation

#[test]
fn the_user_docs_exist_and_link_to_pages_that_exist() {
    let pages = [
        "README.md",
        "docs/getting-started.md",
        "docs/cli.md",
        "docs/repl.md",
        "docs/dialects.md",
        "docs/tls.md",
        "docs/nodemcu.md",
        "docs/pragtical.md",
        "packaging/README.md",
    ];
    for page in pages {
        let path = repo(page);
        let text = read(&path);
        let dir = path.parent().expect("parent");
        // Relative Markdown links: ](target) or ](target#anchor).
        for link in text.split("](").skip(1).filter_map(|s| s.split(')').next()) {
            if link.contains("://") || link.starts_with('#') || link.starts_with("mailto:") {
                continue;
            }
            let target = link.split('#').next().unwrap_or("");
            assert!(dir.join(target).exists(), "{page} links to {link}, which does not exist");
        }
    }
    let index = read(&repo("docs/dialects.md"));
    for page in ["nodemcu.md", "pragtical.md"] {
        assert!(index.contains(&format!("({page})")), "docs/dialects.md does not link {page}");
    }
    let readme = read(&repo("README.md"));
    for page in ["docs/getting-started.md", "docs/cli.md", "docs/repl.md", "docs/dialects.md", "docs/tls.md"] {
        assert!(readme.contains(page), "the README does not link {page}");
    }
}
