//! The Pragtical examples in examples/pragtical/ run unchanged, both through their
//! `-- rlua-net: dialect=pragtical` line and under `--dialect pragtical`, against real
//! peers on the loopback (python3).

mod pragtical_support;

use std::path::PathBuf;
use std::process::Command;

use pragtical_support::{BIN, Background, Finished, closed_tcp_port, free_udp_port, have_ipv6_loopback, python};

fn example(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join("pragtical").join(name);
    p.to_string_lossy().into_owned()
}

/// Starts an example: with `--dialect pragtical` when `option`, else through its first line.
fn start(name: &str, option: bool, args: &[&str]) -> Background {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("RLUA_NET_DIALECT");
    if option {
        cmd.args(["--dialect", "pragtical"]);
    }
    cmd.arg(example(name)).args(args);
    Background::start(cmd, name)
}

fn run(name: &str, option: bool, args: &[&str]) -> Finished {
    start(name, option, args).finish()
}

/// An HTTP/1.0 server: `/thousand` is 1000 bytes, anything else a 9-byte 404.
const HTTPD: &str = r#"
import http.server
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        found = self.path == "/thousand"
        body = b"x" * 1000 if found else b"not here\n"
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print("port", server.server_address[1])
server.serve_forever()
"#;

#[test]
fn http_get_prints_the_status_line_and_the_body_length() {
    let mut httpd = python(HTTPD, &[]);
    let port = httpd.port("port ").to_string();
    run("http_get.lua", false, &["127.0.0.1", &port, "/thousand"])
        .ok()
        .stdout_is(&["HTTP/1.0 200 OK", "body: 1000 bytes"]);
    run("http_get.lua", true, &["localhost", &port, "/elsewhere"])
        .ok()
        .stdout_is(&["HTTP/1.0 404 Not Found", "body: 9 bytes"]);
}

#[test]
fn http_get_reports_failures_and_exits_with_1() {
    let refused = run("http_get.lua", false, &["127.0.0.1", &closed_tcp_port().to_string()]);
    refused.code(1).stdout_is(&[]);
    assert!(
        refused.stderr.contains("ERROR: connecting to 127.0.0.1: Socket failed to connect: Connection refused"),
        "{}",
        refused.describe()
    );
    let unknown = run("http_get.lua", false, &["no-such-host.invalid"]);
    unknown.code(1).stdout_is(&[]);
    assert!(unknown.stderr.contains("ERROR: resolving no-such-host.invalid: "), "{}", unknown.describe());
}

#[test]
fn udp_pair_exchanges_pings_and_pongs_and_ends_by_itself() {
    let port = free_udp_port().to_string();
    for option in [false, true] {
        let out = run("udp_pair.lua", option, &[&port, "3"]);
        out.ok();
        let lines = out.lines();
        assert_eq!(lines.len(), 7, "{}", out.describe());
        assert_eq!(lines[0], format!("receiver: listening on 127.0.0.1:{port}"));
        for i in 1..=3 {
            let received = lines[2 * i - 1];
            assert!(received.starts_with(&format!("receiver: 'ping {i}' from 127.0.0.1:")), "{}", out.describe());
            assert_eq!(lines[2 * i], format!("sender: got 'pong {i}'"), "{}", out.describe());
        }
    }
}

/// A client that sends `argv[2]` (lines separated by '|') to port `argv[1]` on `argv[3]`,
/// reads until the server closes and prints what came back.
const LINE_CLIENT: &str = r#"
import socket, sys
c = socket.create_connection((sys.argv[3], int(sys.argv[1])))
c.sendall(sys.argv[2].replace("|", "\n").encode())
got = b""
while True:
    d = c.recv(4096)
    if not d: break
    got += d
print(repr(got.decode()))
"#;

#[test]
fn tcp_server_answers_lines_and_stops_on_quit() {
    let mut server = start("tcp_server.lua", false, &["0", "60"]);
    let banner = server.wait_for("listening on port ");
    let port = banner.split_whitespace().next().expect("a port").to_string();
    // A first client stays connected while a second one (over IPv6 where possible) quits.
    let mut first = python(
        r#"
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"hello\r\nworld\n")
got = b""
while got.count(b"\n") < 2:
    got += c.recv(4096)
print("first", repr(got.decode()))
while c.recv(4096): pass
print("first closed")
"#,
        &[&port],
    );
    assert_eq!(first.wait_for("first "), r#"'you said: hello\nyou said: world\n'"#);
    let host = if have_ipv6_loopback() { "::1" } else { "127.0.0.1" };
    let second = python(LINE_CLIENT, &[&port, "one|quit|", host]).finish();
    assert_eq!(second.stdout, "'you said: one\\nyou said: quit\\n'\n", "{}", second.describe());
    assert_eq!(first.wait_for("first "), "closed");
    let out = server.finish();
    out.ok();
    assert_eq!(out.lines().last(), Some(&"stopped"), "{}", out.describe());
    assert!(out.stdout.contains(&format!("client from {host}")), "{}", out.describe());
}

#[test]
fn tcp_server_stops_by_itself_when_its_time_is_up() {
    let out = run("tcp_server.lua", true, &["0", "0.2"]);
    out.ok();
    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{}", out.describe());
    assert!(lines[0].starts_with("listening on port "), "{}", out.describe());
    assert_eq!(lines[1], "stopped");
}
