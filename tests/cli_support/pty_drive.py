#!/usr/bin/env python3
"""Runs a program in a pseudo-terminal and drives it with a list of steps.

Usage: pty_drive.py STEPS_FILE PROGRAM [ARGS...]

STEPS_FILE holds one JSON array per line, a verb and its arguments:

    ["send", TEXT]               write TEXT (UTF-8) to the terminal, as typed keys
    ["expect", REGEX, SECONDS]   wait until REGEX matches the output seen since the
                                 end of the previous match; fail after SECONDS
    ["absent", REGEX, SECONDS]   watch the output for SECONDS; fail if REGEX shows up
    ["alive"]                    fail if the program has exited
    ["exit", STATUS, SECONDS]    wait for the program to exit with STATUS
    ["sleep", SECONDS]           read output for SECONDS without checking it

Output is matched after removing terminal escape sequences and carriage returns, so a
line of output reads "\\ntext\\n". The program's environment is this process's environment. Answers to cursor
position queries are sent back as a terminal would.

Prints "OK" or "FAIL: reason" on the first line, then "EXIT: status" ("EXIT: running"
or "EXIT: signal N"), then "TRANSCRIPT:" and the cleaned output. Exit status 0 when
every step passed, 1 otherwise, 2 on a usage error. Only the standard library is used.
"""

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, colours, modes
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles
    r"|\x1b[()][0-9A-Za-z]"  # character set selection
    r"|\x1b[=>78]"  # keypad modes, save/restore cursor
)
CURSOR_QUERY = b"\x1b[6n"
# Hang protection for the whole run, whatever the steps ask for.
OVERALL_LIMIT = 300.0


class Child:
    def __init__(self, argv):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        self.raw = bytearray()
        self.status = None  # ("exit", n) or ("signal", n) once reaped
        self.eof = False
        winsize = struct.pack("HHHH", 24, 80, 0, 0)
        try:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, winsize)
        except OSError:
            pass

    def text(self):
        decoded = self.raw.decode("utf-8", errors="replace")
        return ESCAPES.sub("", decoded).replace("\r", "")

    def reap(self, block=False):
        if self.status is not None:
            return self.status
        try:
            pid, st = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self.status = ("exit", -1)
            return self.status
        if pid == 0:
            return None
        if os.WIFEXITED(st):
            self.status = ("exit", os.WEXITSTATUS(st))
        elif os.WIFSIGNALED(st):
            self.status = ("signal", os.WTERMSIG(st))
        else:
            self.status = ("exit", -1)
        return self.status

    def pump(self, seconds):
        """Reads whatever arrives within `seconds` (at most one select round)."""
        if self.eof:
            if seconds > 0:
                time.sleep(min(seconds, 0.05))
            return
        ready, _, _ = select.select([self.fd], [], [], max(seconds, 0))
        if not ready:
            return
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.eof = True
            return
        self.raw.extend(chunk)
        if CURSOR_QUERY in chunk:
            self.write(b"\x1b[1;1R")

    def write(self, data):
        view = memoryview(data)
        while view:
            _, ready, _ = select.select([], [self.fd], [], 5)
            if not ready:
                raise RuntimeError("the terminal does not accept input")
            n = os.write(self.fd, view)
            view = view[n:]

    def finish(self):
        """Ends the program if still running (hang-up, then kill) and reaps it."""
        if self.reap() is None:
            try:
                os.kill(self.pid, signal.SIGHUP)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 5
            while self.reap() is None and time.monotonic() < deadline:
                self.pump(0.05)
            if self.reap() is None:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.reap(block=True)
        else:
            # Collect what is still buffered.
            while not self.eof:
                before = len(self.raw)
                self.pump(0.1)
                if len(self.raw) == before:
                    break
        try:
            os.close(self.fd)
        except OSError:
            pass


class StepFailed(Exception):
    pass


def run_steps(child, steps, started):
    cursor = 0
    for number, step in enumerate(steps, 1):
        verb, args = step[0], step[1:]
        where = f"step {number} {json.dumps(step)}"
        if time.monotonic() - started > OVERALL_LIMIT:
            raise StepFailed(f"{where}: overall time limit reached")
        if verb == "send":
            child.pump(0)
            if child.reap() is not None:
                raise StepFailed(f"{where}: the program has already exited")
            child.write(args[0].encode("utf-8"))
        elif verb == "expect":
            pattern, limit = re.compile(args[0]), float(args[1])
            deadline = time.monotonic() + limit
            while True:
                match = pattern.search(child.text(), cursor)
                if match:
                    cursor = match.end()
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StepFailed(f"{where}: not seen within {limit}s")
                if child.eof and child.reap() is not None:
                    raise StepFailed(f"{where}: the program exited before it appeared")
                child.pump(min(left, 0.2))
        elif verb == "absent":
            pattern, limit = re.compile(args[0]), float(args[1])
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline:
                child.pump(min(deadline - time.monotonic(), 0.2))
            match = pattern.search(child.text(), cursor)
            if match:
                raise StepFailed(f"{where}: unexpectedly seen: {match.group(0)!r}")
        elif verb == "alive":
            child.pump(0.1)
            if child.reap() is not None:
                raise StepFailed(f"{where}: the program exited ({child.status})")
        elif verb == "exit":
            want, limit = int(args[0]), float(args[1])
            deadline = time.monotonic() + limit
            while child.reap() is None and time.monotonic() < deadline:
                child.pump(0.1)
            status = child.reap()
            if status is None:
                raise StepFailed(f"{where}: still running after {limit}s")
            if status != ("exit", want):
                raise StepFailed(f"{where}: ended with {status}")
        elif verb == "sleep":
            deadline = time.monotonic() + float(args[0])
            while time.monotonic() < deadline:
                child.pump(min(deadline - time.monotonic(), 0.2))
        else:
            raise StepFailed(f"{where}: unknown verb")


def main():
    if len(sys.argv) < 3:
        print("usage: pty_drive.py STEPS_FILE PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        steps = [json.loads(line) for line in f if line.strip()]
    started = time.monotonic()
    child = Child(sys.argv[2:])
    failure = None
    try:
        run_steps(child, steps, started)
    except StepFailed as e:
        failure = str(e)
    except (OSError, RuntimeError) as e:
        failure = f"driver error: {e}"
    finally:
        child.finish()
    status = child.status
    print("OK" if failure is None else f"FAIL: {failure}")
    if status is None:
        print("EXIT: running")
    elif status[0] == "exit":
        print(f"EXIT: {status[1]}")
    else:
        print(f"EXIT: signal {status[1]}")
    print("TRANSCRIPT:")
    print(child.text())
    return 0 if failure is None else 1


if __name__ == "__main__":
    sys.exit(main())
