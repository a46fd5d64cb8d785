# Homebrew formula for rlua-net.
#
# `url` and `sha256` name a source tarball of a release. Until releases are published
# somewhere, packaging/homebrew/make-tarball.sh makes the tarball from a checkout and writes
# a copy of this formula pointing at it (see packaging/README.md for installing that copy
# from a local tap).
class RluaNet < Formula
  desc "Lua 5.4 runtime with batteries-included networking"
  homepage "https://rlua-net.invalid/"
  url "https://rlua-net.invalid/releases/rlua-net-0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "MIT"

  depends_on "rust" => :build

  on_linux do
    depends_on "pkgconf" => :build
    depends_on "openssl@3"
  end

  def install
    # Download every crate Cargo.lock pins, then build without the network from what was
    # fetched: a build that would need anything else fails instead of fetching it.
    system "cargo", "fetch", "--locked"
    # --no-default-features: TLS comes from the platform (Security.framework on macOS,
    # Homebrew's openssl@3 on Linux) instead of the OpenSSL copy the default build compiles in.
    system "cargo", "install", "--offline", "--no-default-features", *std_cargo_args

    man1.install "man/rlua-net.1"
    # Runs `rlua-net --generate bash|zsh|fish`.
    generate_completions_from_executable(bin/"rlua-net", "--generate")
    doc.install "README.md", "docs", "examples"
  end

  test do
    assert_match "rlua-net #{version}", shell_output("#{bin}/rlua-net --version")

    # A server and a client in one script, talking over loopback.
    (testpath/"echo.lua").write <<~LUA
      local core = require "rluanet.core"
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
      client:queue("hello\\n")
      local reply = client:read_until("\\n")
      while reply == false and core.wait(client, "r", 5) do
        reply = client:read_until("\\n")
      end
      io.write("echoed: ", reply or "nothing")
      client:close()
    LUA
    assert_equal "echoed: hello\n", shell_output("#{bin}/rlua-net #{testpath}/echo.lua")

    assert_match "rlua-net", (man1/"rlua-net.1").read
    assert_path_exists bash_completion/"rlua-net"
  end
end
