//! The shipped examples run as the README says, against real clients.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Running, TempDir, bin, run_cmd, spawn};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

fn start(name: &str, args: &[&str]) -> Running {
    let mut cmd = Command::new(bin());
    cmd.arg(example(name)).args(args);
    spawn(cmd, name, None)
}

fn python(code: &str, args: &[&str]) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(code).args(args);
    let out = run_cmd(cmd, "python3 client", None);
    out.assert_success();
    out.stdout
}

/// A free TCP or UDP port on the loopback (bind to 0, read it, release it).
fn free_port(udp: bool) -> u16 {
    let port = if udp {
        std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr())
    } else {
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|s| s.local_addr())
    };
    port.map(|a| a.port()).unwrap_or_else(|e| panic!("no free port: {e}"))
}

const HTTP_GET: &str = r#"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /hello HTTP/1.0\r\nHost: x\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode())
"#;

#[test]
fn nodemcu_http_server_answers_requests() {
    let port = free_port(false).to_string();
    let mut server = start("nodemcu/http_server.lua", &[&port]);
    assert!(server.next_line().starts_with("serving on http://"));
    let first = python(HTTP_GET, &[&port]);
    let second = python(HTTP_GET, &[&port]);
    assert!(first.starts_with("HTTP/1.0 200 OK"), "{first}");
    assert!(first.contains("GET /hello, request #1"), "{first}");
    assert!(second.contains("request #2"), "{second}");
    let body_len = first.split("\r\n\r\n").nth(1).map_or(0, str::len);
    let declared: usize = first
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(usize::MAX);
    assert_eq!(body_len, declared + 1, "body (plus print's newline) matches Content-Length:\n{first}");
}

#[test]
fn nodemcu_udp_echo_echoes_and_stops_by_itself() {
    let port = free_port(true).to_string();
    let mut server = start("nodemcu/udp_echo.lua", &[&port, "3"]);
    assert!(server.next_line().contains(&format!(":{port}")));
    let reply = python(
        r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"foo", ("127.0.0.1", int(sys.argv[1])))
print(s.recvfrom(100)[0].decode())
"#,
        &[&port],
    );
    assert_eq!(reply.trim(), "echo: foo");
    let out = server.wait();
    out.assert_success();
    assert!(out.stdout.contains("received 'foo' from 127.0.0.1:"), "{}", out.describe());
}

#[test]
fn nodemcu_tls_client_fetches_over_https() {
    let dir = TempDir::new();
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}"));
    assert!(status.status.success(), "openssl req failed");
    let port = free_port(false).to_string();
    let mut server = Command::new("openssl");
    server
        .args(["s_server", "-accept", &port, "-www", "-cert"])
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"));
    let mut server = spawn(server, "openssl s_server", None);
    while server.next_line() != "ACCEPT" {} // s_server announces that it listens
    // The example trusts the system roots, so the self-signed server is refused...
    let mut cmd = Command::new(bin());
    cmd.arg(example("nodemcu/tls_client.lua")).args(["localhost", &port]);
    let refused = run_cmd(cmd, "tls_client (default roots)", None);
    assert!(refused.stdout.contains("connection failed: SSL handshake failed"), "{}", refused.describe());
    // ...and accepted once the script trusts that certificate.
    let mut cmd = Command::new(bin());
    let trust =
        format!("local f = assert(io.open({:?})); tls.cert.verify(f:read('a')); f:close()", dir.arg("cert.pem"));
    cmd.args(["--dialect", "nodemcu", "-e", &trust]).arg(example("nodemcu/tls_client.lua")).args(["localhost", &port]);
    let fetched = run_cmd(cmd, "tls_client (trusting the certificate)", None);
    fetched.assert_success();
    assert!(fetched.stdout.starts_with("HTTP/1.0 200 ok"), "{}", fetched.describe());
}

#[test]
fn runtime_examples_run_to_completion() {
    let mut cmd = Command::new(bin());
    cmd.arg(example("timers.lua"));
    let out = run_cmd(cmd, "examples/timers.lua", None);
    out.assert_success();
    assert!(!out.stdout.is_empty());
}
