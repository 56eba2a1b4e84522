#!/usr/bin/env python3
"""Run kvmcmotop's screen in a pseudo-terminal for a while and watch its
memory: the "memory flat over 10 minutes of refreshes" benchmark.

    kvmcmotop-pty.py [--minutes 10] [--every 10] [--cols 80 --lines 24] -- CMD...

CMD (kvmcmotop --remote URL -d 0.2, say) runs in a pty of COLS x LINES
(TERM=xterm-256color); everything it writes is read and counted (a screen
nobody reads would block it), and every 20 s a round of keys walks the
screens it has: the details of the top VM scrolled to the end and back, the
help, rates <-> totals, the next kind, a sort by name and back, a name
filter set and cleared, a resize to 132x43 and back.  Every --every seconds
one line: seconds, VmRSS and VmHWM in KiB, CPU seconds, bytes written
since the last line.  At the end
q, the exit status, and a summary: RSS after the first minute, at the end,
the largest, and the growth per hour fitted over the minutes after the
first.
"""
import argparse
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time

KEYS = [b"\r", b"\x1b[F", b"\x1b[H", b"\x1b", b"h", b"x", b"t", b"t", b"k", b"k", b"k", b"k",
        b"k", b"N", b"C", b"f", b"vm1", b"\r", b"f", b"\x15", b"\r", b"R", b"R"]


def status(pid):
    d = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            d[k] = v.strip()
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    cpu = (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
    return int(d["VmRSS"].split()[0]), int(d["VmHWM"].split()[0]), cpu


def winsize(fd, cols, lines):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, cols, 0, 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--cols", type=int, default=80)
    ap.add_argument("--lines", type=int, default=24)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()

    pid, fd = os.forkpty()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(a.cmd[0], a.cmd)
    winsize(fd, a.cols, a.lines)
    os.kill(pid, signal.SIGWINCH)
    t0 = time.monotonic()
    end = t0 + a.minutes * 60
    next_line, next_keys = t0 + a.every, t0 + 20
    got, total = 0, 0
    samples = []
    key_round, next_key = [], 0
    print(f"{'t_s':>6} {'rss_kb':>7} {'hwm_kb':>7} {'cpu_s':>7} {'bytes':>9}", flush=True)
    while True:
        now = time.monotonic()
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            got += len(data)
            total += len(data)
        if now >= end:
            break
        if now >= next_keys and not key_round:
            key_round = list(KEYS) + [("resize", 132, 43), ("resize", a.cols, a.lines)]
            next_keys = now + 20
        if key_round and now >= next_key:
            k = key_round.pop(0)
            if isinstance(k, tuple):
                winsize(fd, k[1], k[2])
                os.kill(pid, signal.SIGWINCH)
            else:
                os.write(fd, k)
            next_key = now + 0.4
        if now >= next_line:
            rss, hwm, cpu = status(pid)
            samples.append((now - t0, rss))
            print(f"{now - t0:6.0f} {rss:7d} {hwm:7d} {cpu:7.1f} {got:9d}", flush=True)
            got = 0
            next_line += a.every
    rss, hwm, cpu = status(pid)
    os.write(fd, b"q")
    deadline = time.monotonic() + 10
    rc = None
    while time.monotonic() < deadline:
        select.select([fd], [], [], 0.1)
        try:
            os.read(fd, 65536)
        except OSError:
            pass
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            rc = os.waitstatus_to_exitcode(st)
            break
    later = [(t, r) for t, r in samples if t >= 60]
    slope = 0.0
    if len(later) >= 2:
        mt = sum(t for t, _ in later) / len(later)
        mr = sum(r for _, r in later) / len(later)
        den = sum((t - mt) ** 2 for t, _ in later)
        slope = sum((t - mt) * (r - mr) for t, r in later) / den * 3600 if den else 0.0
    first = later[0][1] if later else rss
    print(f"summary: {a.minutes:g} min, rss_kb after 1 min {first}, "
          f"at the end {rss}, largest {max(r for _, r in samples) if samples else rss}, "
          f"hwm {hwm}; fitted growth after the first minute {slope:+.0f} KiB/hour; "
          f"cpu {cpu:.1f} s; {total} bytes to the terminal; exit {rc}")
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
