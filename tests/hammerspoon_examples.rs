//! The Hammerspoon examples in examples/hammerspoon/ run unchanged, both through their
//! `-- rlua-net: dialect=hammerspoon` line and under `--dialect hammerspoon`, against real
//! peers on the loopback: python3's http.server, TCP clients, and each other over UDP.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use common::{HARD_TIMEOUT, Output, Running, TempDir, bin, spawn};

fn example(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join("hammerspoon").join(name);
    p.to_string_lossy().into_owned()
}

/// Starts an example: with `--dialect hammerspoon` when `option`, else through its first line.
fn start(name: &str, option: bool, args: &[&str]) -> Running {
    let mut cmd = Command::new(bin());
    cmd.env_remove("RLUA_NET_DIALECT").env_remove("LUA_INIT").env_remove("LUA_INIT_5_4");
    if option {
        cmd.args(["--dialect", "hammerspoon"]);
    }
    cmd.arg(example(name)).args(args);
    spawn(cmd, name, None)
}

fn run(name: &str, option: bool, args: &[&str]) -> Output {
    start(name, option, args).wait()
}

/// A TCP port on the loopback that nothing listens on (bound, read, released).
fn closed_tcp_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a TCP port");
    l.local_addr().expect("local address").port()
}

/// A UDP port on the loopback that was free a moment ago.
fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
    s.local_addr().expect("local address").port()
}

/// The lines of `out`'s stdout that do not come from the LuaSkin logger.
fn script_lines(out: &Output) -> Vec<&str> {
    out.lines().into_iter().filter(|l| !l.contains(" LuaSkin: ")).collect()
}

// ---------------------------------------------------------------- http_client.lua

const GREETING: &str = "hello from the test server\nsecond line, with a colon: here\n";

/// `python3 -m http.server` on a free loopback port, serving a directory that holds
/// `greeting.txt`; returns the server, its port and the directory (kept alive).
fn http_server() -> (Running, String, TempDir) {
    let dir = TempDir::new();
    dir.write("greeting.txt", GREETING.as_bytes());
    let mut cmd = Command::new("python3");
    cmd.args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory"]).arg(dir.path());
    let mut server = spawn(cmd, "python3 -m http.server", None);
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let banner = server.next_line();
    let port = banner
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .unwrap_or_else(|| panic!("no port in http.server's banner: {banner}"))
        .to_string();
    (server, port, dir)
}

#[test]
fn http_client_prints_the_status_and_the_body_it_was_sent() {
    let (_server, port, _dir) = http_server();
    for option in [false, true] {
        let out = run("http_client.lua", option, &["127.0.0.1", &port, "/greeting.txt"]);
        out.assert_success();
        let lines = script_lines(&out);
        assert_eq!(lines.first(), Some(&"status: HTTP/1.0 200 OK"), "{}", out.describe());
        assert!(lines.contains(&format!("header: Content-Length: {}", GREETING.len()).as_str()), "{}", out.describe());
        let body_at =
            lines.iter().position(|l| l.starts_with("body: ")).unwrap_or_else(|| panic!("{}", out.describe()));
        assert_eq!(lines[body_at], format!("body: {} bytes", GREETING.len()), "{}", out.describe());
        assert_eq!(lines[body_at + 1..].join("\n") + "\n", GREETING, "{}", out.describe());
        // The debug log shows the connection, as in Hammerspoon's console.
        assert!(out.stdout.contains("LuaSkin: TCP socket connected"), "{}", out.describe());
    }
}

#[test]
fn http_client_prints_an_error_status_and_its_page() {
    let (_server, port, _dir) = http_server();
    let out = run("http_client.lua", true, &["localhost", &port, "/no-such-file"]);
    out.assert_success();
    let lines = script_lines(&out);
    assert_eq!(lines.first(), Some(&"status: HTTP/1.0 404 File not found"), "{}", out.describe());
    let declared: usize = lines
        .iter()
        .find_map(|l| l.strip_prefix("header: Content-Length: "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Content-Length header:\n{}", out.describe()));
    assert!(lines.contains(&format!("body: {declared} bytes").as_str()), "{}", out.describe());
    assert!(out.stdout.contains("Error code: 404"), "{}", out.describe());
}

#[test]
fn http_client_exits_with_1_when_the_connection_is_refused() {
    let port = closed_tcp_port().to_string();
    let out = run("http_client.lua", false, &["127.0.0.1", &port, "/"]);
    out.assert_code(1);
    assert!(script_lines(&out).is_empty(), "{}", out.describe());
    assert!(out.stdout.contains("TCP socket disconnected: Connection refused"), "{}", out.describe());
    assert!(out.stderr.contains(&format!("no complete response from 127.0.0.1:{port}")), "{}", out.describe());
}

// ---------------------------------------------------------------- line_server.lua

/// A line-reading TCP client; reads give up (failing the test) after the hard timeout.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(port: &str) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port.parse::<u16>().expect("a port number"))).expect("connect");
        s.set_read_timeout(Some(HARD_TIMEOUT)).expect("set a read timeout");
        Client { writer: s.try_clone().expect("clone the stream"), reader: BufReader::new(s) }
    }

    fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).expect("send");
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        let n = self.reader.read_line(&mut l).expect("a line from the server");
        assert!(n > 0, "the server closed the connection instead of sending a line");
        l
    }

    /// Reads until the server closes the connection; what came before that.
    fn rest(&mut self) -> String {
        let mut s = String::new();
        self.reader.read_to_string(&mut s).expect("read until the server closes");
        s
    }
}

/// Reads the server's stdout up to the line `want` (other lines are skipped).
fn wait_for(server: &mut Running, want: &str) {
    while server.next_line() != want {}
}

#[test]
fn line_server_broadcasts_every_line_to_every_client_and_stops_on_shutdown() {
    let mut server = start("line_server.lua", false, &["0", "60"]);
    let banner = server.next_line();
    let port = banner.strip_prefix("listening on port ").unwrap_or_else(|| panic!("banner: {banner}")).to_string();
    assert_ne!(port, "0");

    let mut a = Client::connect(&port);
    wait_for(&mut server, "clients: 1");
    let mut b = Client::connect(&port);
    wait_for(&mut server, "clients: 2");

    a.send("hello\n");
    assert_eq!(a.line(), "#1 hello\n");
    assert_eq!(b.line(), "#1 hello\n");
    b.send("hi there\r\nsecond\n");
    for c in [&mut a, &mut b] {
        assert_eq!(c.line(), "#2 hi there\n");
        assert_eq!(c.line(), "#3 second\n");
    }

    drop(b);
    wait_for(&mut server, "clients: 1");
    a.send("alone\nshutdown\n");
    assert_eq!(a.rest(), "#4 alone\n");

    let out = server.wait();
    out.assert_success();
    let lines = out.lines();
    for want in ["line #1: hello", "line #2: hi there", "line #3: second", "line #4: alone"] {
        assert!(lines.contains(&want), "{}", out.describe());
    }
    assert_eq!(lines.last(), Some(&"stopped: shutdown requested"), "{}", out.describe());
}

#[test]
fn line_server_stops_by_itself_when_its_time_is_up() {
    let out = run("line_server.lua", true, &["0", "0.2"]);
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{}", out.describe());
    assert!(lines[0].starts_with("listening on port "), "{}", out.describe());
    assert_eq!(lines[1], "stopped: time is up", "{}", out.describe());
}

// ---------------------------------------------------------------- udp_ping_pong.lua

/// Checks a ping-pong run of `count` round trips; returns the server's port.
fn check_ping_pong(out: &Output, count: usize) -> String {
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.len(), 2 + 2 * count, "{}", out.describe());
    let port = lines[0].strip_prefix("server: listening on port ").unwrap_or_else(|| panic!("{}", out.describe()));
    let mut client_port = None;
    for i in 1..=count {
        let got = lines[2 * i - 1];
        let from = got
            .strip_prefix(&format!("server: got 'ping {i}' from 127.0.0.1:"))
            .unwrap_or_else(|| panic!("line {}: {got}\n{}", 2 * i - 1, out.describe()));
        assert!(from.parse::<u16>().is_ok_and(|p| p != 0), "{}", out.describe());
        // Every ping comes from the one client socket.
        assert_eq!(*client_port.get_or_insert(from), from, "{}", out.describe());
        assert_eq!(lines[2 * i], format!("client: got 'pong {i}'"), "{}", out.describe());
    }
    assert_eq!(lines[1 + 2 * count], format!("client: {count} round trips, done"), "{}", out.describe());
    port.to_string()
}

#[test]
fn udp_ping_pong_plays_its_rounds_and_ends_by_itself() {
    let out = run("udp_ping_pong.lua", false, &[]);
    let port = check_ping_pong(&out, 3);
    assert_ne!(port, "0");

    let wanted = free_udp_port().to_string();
    let out = run("udp_ping_pong.lua", true, &["5", &wanted]);
    assert_eq!(check_ping_pong(&out, 5), wanted);
}
