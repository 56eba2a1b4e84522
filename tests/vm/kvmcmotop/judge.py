#!/usr/bin/env python3
"""Judge one kernel's kvmcmotop run (tests/vm/kvmcmotop/guest.sh, tty.sh):
kvmcmotop's numbers against the workload's ground truth, exactly, and the
screen as tmux captured it.

    judge.py OUTDIR KERNEL   -> "ok ..."/"FAIL ..." lines, last line
                                "KERNEL: N passed, N failed"; exit 1 on failure

The expected columns are computed here from the truth's abort table, with
the definitions of man/kvmcmotop.8 (not with kvmcmotop's code):
  focus  = aborts of the kind, translation/permission = its faults,
  ro = its aborts on read-only memslots, skip = outcome skip,
  exits = outcomes nisv + mmio_user, errors = outcome error,
  double_faults = the truth's double faults of that kind.
"""
import csv
import gzip
import io
import json
import os
import re
import sys
from collections import Counter

results = []
COLS = ["aborts", "focus", "translation", "permission", "double_faults", "ro", "skip",
        "exits", "errors"]
SGR_COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


def check(ok, name, detail=""):
    results.append(bool(ok))
    print(("ok   " if ok else "FAIL ") + name + ((": " + str(detail)) if detail and not ok else ""))
    return ok


def text(out, name, default=None):
    for p in (os.path.join(out, name), os.path.join(out, name + ".gz")):
        try:
            if p.endswith(".gz"):
                with gzip.open(p, "rt", errors="replace") as f:
                    return f.read()
            with open(p, errors="replace") as f:
                return f.read()
        except OSError:
            continue
    return default


def expected(vm, kind):
    """The counted columns of one truth VM for a focus kind."""
    e = dict.fromkeys(COLS, 0)
    for r in vm.get("aborts", []):
        n = r["count"]
        e["aborts"] += n
        if r["kind"] != kind:
            continue
        e["focus"] += n
        e["translation"] += n if r["fault"] == "translation" else 0
        e["permission"] += n if r["fault"] == "permission" else 0
        e["ro"] += n if r["memslot"] == "ro" else 0
        e["skip"] += n if r["outcome"] == "skip" else 0
        e["exits"] += n if r["outcome"] in ("nisv", "mmio_user") else 0
        e["errors"] += n if r["outcome"] == "error" else 0
    e["double_faults"] = sum(d["count"] for d in vm.get("double_faults", []) if d["kind"] == kind)
    return e


def json_frames(out, name):
    t = text(out, name, "")
    frames = []
    for line in t.splitlines():
        if line.strip():
            try:
                frames.append(json.loads(line))
            except ValueError:
                frames.append(None)
    return frames


def match_vms(tag, what, truth, got, kind, counts, name):
    """got: {(pid, fd): a VM's row}; checks that they are the truth's VMs and
    returns (the truth's VMs by (pid, fd), the rows whose counts(row) or
    name(row) differ from the truth's)."""
    want = {(v["pid"], v["fd"]): v for v in truth["vms"]}
    check(set(got) == set(want), f"{tag} {what}{' ' if what else ''}the workload's VMs and no other",
          f"missing {sorted(set(want) - set(got))} extra {sorted(set(got) - set(want))}")
    bad = []
    for key, w in want.items():
        if key not in got:
            continue
        e, g = expected(w, kind), counts(got[key])
        if g != e or name(got[key]) != w["name"]:
            bad.append(f"{w['name']} pid {key[0]} fd {key[1]}: want {e} got {g} "
                       f"name {name(got[key])!r}")
    return want, bad


def judge_json(out, tag, name, truth, kind, totals_only=False, killed=False):
    """Frames of a -j run: the last one's totals equal the truth, VM for VM;
    the intervals of all frames add up to those totals.  killed: the run
    ended by kill -9 (a cut last line is dropped, no frame is final)."""
    frames = json_frames(out, name)
    if killed and frames and frames[-1] is None:
        frames.pop()
    if not check(frames and all(f is not None for f in frames), f"{tag} frames are JSON",
                 f"{len(frames)} lines"):
        return
    last = frames[-1]
    if killed:
        check(not any(f["final"] for f in frames), f"{tag} no final frame (killed)")
    else:
        check(last["final"] and not any(f["final"] for f in frames[:-1]),
              f"{tag} only the last frame (after SIGINT) is final")
    check(last["kind"] == kind, f"{tag} kind {kind}", last["kind"])
    got = {(v["pid"], v["fd"]): v for v in last["vms"]}
    want, bad = match_vms(tag, "", truth, got, kind, lambda g: {c: g["total"][c] for c in COLS},
                          lambda g: g["name"])
    for key, w in want.items():
        if key in got and expected(w, kind)["aborts"] and got[key]["vcpus"] != 1:
            bad.append(f"{w['name']}: {got[key]['vcpus']} vCPUs seen, the workload's VMs have one")
    check(not bad, f"{tag} totals since start equal the truth ({len(want)} VMs, kind {kind})",
          "; ".join(bad[:4]))
    tot = {c: sum(expected(w, kind)[c] for w in want.values()) for c in COLS}
    check({c: last["total"]["total"][c] for c in COLS} == tot, f"{tag} total row",
          f"want {tot} got {last['total']['total']}")
    check(not any(last["stats"].values()), f"{tag} no BPF-side drops", last["stats"])
    if totals_only:
        return
    # the intervals partition the time since start: their sums are the totals
    sums, bad = {}, []
    for f in frames:
        for v in f["vms"]:
            s = sums.setdefault((v["pid"], v["fd"]), Counter())
            for c in COLS[:-1]:             # errors are shown since start
                s[c] += v["interval"][c]
            if f["interval_s"] > 0:
                r = v["interval"]["aborts"] / f["interval_s"]
                if abs(v["rate"]["aborts"] - r) > 1e-6 * max(1, r):
                    bad.append(f"rate {v['rate']['aborts']} != {r}")
    for key, v in got.items():
        for c in COLS[:-1]:
            if sums[key][c] != v["total"][c]:
                bad.append(f"{v['name']} {c}: intervals add to {sums[key][c]}, total {v['total'][c]}")
    check(not bad, f"{tag} {len(frames)} intervals add up to the totals, rates = count / seconds",
          "; ".join(bad[:4]))


def judge_csv(out, tag, truth, kind):
    """The CSV log of a kvmcmotop that crashed after the workload: its last
    whole frame holds the totals."""
    t = text(out, "b.csv", "")
    rows = list(csv.reader(io.StringIO(t)))
    if not check(rows and rows[0][:7] == ["timestamp", "name", "pid", "fd", "alive", "vcpus",
                                          "aborts"], f"{tag} CSV header", rows[:1]):
        return
    hdr = rows[0]
    check(hdr[7] == kind and hdr[8] == f"{kind}_translation" and len(hdr) == 17,
          f"{tag} CSV columns name the kind", hdr)
    check(sum(1 for r in rows if r and r[0] == "timestamp") == 1, f"{tag} CSV header once")
    # the last frame: the rows after the second-to-last TOTAL row
    totals = [i for i, r in enumerate(rows) if len(r) > 1 and r[1] == "TOTAL"]
    if not check(len(totals) >= 2, f"{tag} CSV frames", f"{len(totals)} frames"):
        return
    frame = rows[totals[-2] + 1:totals[-1] + 1]
    got = {(int(r[2]), int(r[3])): r for r in frame if r[1] != "TOTAL"}
    want, bad = match_vms(tag, "CSV last frame:", truth, got, kind,
                          lambda r: dict(zip(COLS, (int(x) for x in r[6:15]))), lambda r: r[1])
    check(not bad, f"{tag} CSV totals equal the truth (kind {kind})", "; ".join(bad[:4]))
    tot = sum(expected(w, kind)["aborts"] for w in want.values())
    check(int(frame[-1][6]) == tot, f"{tag} CSV total row", f"{frame[-1]} want {tot}")


def text_frames(t):
    return [f for f in t.split("\n\n") if f.startswith("kvmcmotop ")]


def judge_text(out, tag, truth):
    frames = text_frames(text(out, "c.txt", ""))
    if not check(frames, f"{tag} text frames"):
        return
    last = frames[-1].splitlines()
    check("(last, partial interval)" in last[0] and "totals since start" in last[0],
          f"{tag} text title", last[0])
    try:
        h = next(i for i, l in enumerate(last) if l.startswith("NAME "))
    except StopIteration:
        check(False, f"{tag} text header")
        return
    cols = last[h].split()
    check(cols == ["NAME", "PID", "VCP", "ABRT", "CMO", "TRAN", "PERM", "DBL", "RO", "SKIP",
                   "EXIT", "ERR", "P50", "P99"], f"{tag} text header", last[h])
    got, want = Counter(), Counter()
    for l in last[h + 1:]:
        f = l.split()
        if len(f) == 14 and f[0] != "TOTAL":
            got[(f[0], int(f[1]), int(f[3]), int(f[4]))] += 1
    for v in truth["vms"]:
        e = expected(v, "cmo")
        want[(v["name"], v["pid"], e["aborts"], e["focus"])] += 1
    check(got == want, f"{tag} text rows: names, pids, exact ABRT and CMO totals",
          f"missing {list((want - got).items())[:3]} extra {list((got - want).items())[:3]}")


def judge_batch(out, k, truth):
    """A..D (A alone in CI mode: the others are judged on the screen's kernel)"""
    full = (text(out, "mode.txt", "full") or "").strip() != "ci"
    if full:
        for p in ("c", "d"):
            check(text(out, f"{p}.rc", "").strip() == "0", f"{k} batch {p} exited 0",
                  (text(out, f"{p}.err", "") or "")[-300:])
        check(text(out, "b.rc", "").strip() == str(128 + 11),
              f"{k} batch b (-c -L) died of SIGSEGV", text(out, "b.rc"))
    judge_json(out, f"{k} -j", "a.json", truth, "read", killed=True)
    if full:
        judge_csv(out, f"{k} -c", truth, "write")
        judge_text(out, f"{k} -b", truth)
        d = text_frames(text(out, "d.txt", ""))
        check(len(d) == 3, f"{k} -n 3 -d 0.5 prints 3 frames", len(d))
    before = text(out, "attached-1.txt", "")
    during = text(out, "attached-2.txt", "")
    after = text(out, "after-kill9.txt", "missing")
    # fentry targets are listed once however many programs attach (their
    # count in parentheses moves): the lists differ, not their lengths
    check(during != before, f"{k} probes listed while attached", during)
    check(after == before, f"{k} {'a crashed (SIGSEGV) and ' if full else ''}a killed (kill -9) "
          f"batch kvmcmotop leave{'' if full else 's'} nothing attached",
          f"after {after!r} polls {text(out, 'after-kill9.txt.polls', '?')}")
    if os.path.exists(os.path.join(out, "kd.pid")):
        kd = text(out, "kd.pid").strip()
        check(f"kvmcmod (pid {kd}) counts on this host: --remote http://127.0.0.1:10131"
              in text(out, "a.err", ""), f"{k} a local kvmcmod is found and --remote offered",
              text(out, "a.err", ""))
        check(text(out, "r.rc", "").strip() == "0", f"{k} --remote exited 0",
              text(out, "r.err", "")[-300:])
        judge_json(out, f"{k} --remote", "r.json", truth, "cmo", totals_only=True)


# ---- the screen -------------------------------------------------------------

def capture(out, name):
    for f in sorted(os.listdir(out)):
        m = re.match(r"tty-\d\d-(.*)\.txt$", f)
        if m and m.group(1) == name:
            with open(os.path.join(out, f), errors="replace") as fh:
                return fh.read().split("\n")[:-1]
    return None


def screen_rows(lines):
    """(name, pid, [values]) of the VM rows, from the column header's layout."""
    try:
        h = next(i for i, l in enumerate(lines) if l.startswith("NAME "))
    except StopIteration:
        return None
    namew = lines[h].index("PID") + 3 - 8
    rows = []
    for l in lines[h + 1:]:
        if not l.strip() or l.startswith("TOTAL") or l.startswith("("):
            continue
        f = l[namew:].split()
        if len(f) != 13 or not f[0].isdigit():
            continue
        rows.append((l[:namew].rstrip(), int(f[0]), f[1:]))
    return rows


def fits(lines, w, h):
    return lines is not None and len(lines) == h and all(len(l) <= w for l in lines)


def sane(stty):
    s = stty or ""
    return re.search(r"(^|\s)icanon", s) and re.search(r"(^|\s)echo(\s|$)", s) and \
        "-icanon" not in s and not re.search(r"(^|\s)-echo(\s|$)", s)


def judge_tty(out, k):
    tag = f"{k} screen"
    truth = json.loads(text(out, "truth.json", "{}") or "{}")
    steps = dict(l.split()[:2] for l in text(out, "tty-steps.txt", "").splitlines() if " " in l)
    check(steps and all(v == "ok" for v in steps.values()), f"{tag} every step reached its screen",
          {s: v for s, v in steps.items() if v != "ok"} or "no steps")
    vms = truth.get("vms", [])
    start = capture(out, "start")
    check(fits(start, 80, 24), f"{tag} 80x24", start)
    if start:
        check(start[4] == "NAME                 PID VCP ABRT  CMO TRAN PERM DBL  RO SKIP EXIT"
              " ERR  P50  P99", f"{tag} column header fills 80 columns", start[4])
        check(re.match(r"kvmcmotop \d\d:\d\d:\d\d  local probes \((fentry|kprobe)\)  every 1\.0s"
                       r"  rates/s  kind CMO", start[0]), f"{tag} title", start[0])
        kd = text(out, "kd.pid")
        if kd:
            check(start[2] == f"kvmcmod (pid {kd.strip()}) counts here: press u to read "
                  "http://127.0.0.1:10131 instead", f"{tag} says a kvmcmod runs here, offers u",
                  start[2])
    help_ = capture(out, "help")
    check(help_ and help_[0].startswith("kvmcmotop: guest aborts per VM") and
          any("regular expression" in l for l in help_) and fits(help_, 80, 24),
          f"{tag} h shows the keys", help_)
    rates = capture(out, "rates")
    check(rates and any(l.startswith("TOTAL") for l in rates), f"{tag} live rates from the loop")
    # no flicker: over 6 s of refreshes the pane got redrawn cells, never a
    # clear (TERM=screen: clear is ESC[H ESC[J; ESC[2J is the other form)
    try:
        with open(os.path.join(out, "tty-raw.bin"), "rb") as f:
            raw = f.read()
    except OSError:
        raw = b""
    t0, t1 = (re.match(r"kvmcmotop (\d\d:\d\d:\d\d)", (capture(out, n) or [""])[0])
              for n in ("raw-start", "raw-end"))
    secs = 0
    if t0 and t1:
        secs = sum(int(b) * m - int(a) * m for a, b, m in
                   zip(t0.group(1).split(":"), t1.group(1).split(":"), (3600, 60, 1))) % 86400
    clears = raw.count(b"\x1b[H\x1b[J") + raw.count(b"\x1b[2J")
    check(secs >= 3 and raw and not clears,
          f"{tag} no flicker: {secs} s of refreshes every second sent without a screen clear "
          f"({len(raw)} bytes)", f"{len(raw)} bytes, clock {t0 and t0.group(1)} -> "
          f"{t1 and t1.group(1)}, clears {clears}")

    # totals by name: visible truth VMs show their exact totals
    rows = screen_rows(capture(out, "by-name-rows") or [])
    want = Counter((v["name"], v["pid"], str(expected(v, "cmo")["aborts"])) for v in vms)
    if check(rows, f"{tag} rows by name"):
        names = [r[0] for r in rows]
        check(names == sorted(names), f"{tag} N sorts by name", names)
        seen = Counter((r[0], r[1], r[2][1]) for r in rows if (r[0], r[1]) in
                       {(v["name"], v["pid"]) for v in vms})
        check(len(rows) == 17 and sum(seen.values()) >= 15 and not (seen - want),
              f"{tag} 17 rows, the workload's VMs with their exact totals",
              f"{len(rows)} rows, matched {sum(seen.values())}, wrong {list((seen - want).items())[:3]}")
    rows = screen_rows(capture(out, "by-aborts-rows") or [])
    if check(rows, f"{tag} rows by aborts"):
        ab = [int(r[2][1]) if r[2][1].isdigit() else 10 ** 9 for r in rows]
        check(ab == sorted(ab, reverse=True), f"{tag} A sorts by aborts, most first", ab)
        top = sorted((expected(v, "cmo")["aborts"] for v in vms), reverse=True)[:3]
        check(len(ab) >= 3 and all(a >= b for a, b in zip(ab, top)),
              f"{tag} the busiest VMs first", f"{ab[:3]} vs truth {top}")

    lines = capture(out, "filter-rows")
    rows = screen_rows(lines or [])
    n = sum(1 for v in vms if re.search("^ro_", v["name"]))
    check(rows is not None and len(rows) == n and all(r[0].startswith("ro_") for r in rows) and
          any(re.match(rf"VMs: {n} shown", l) for l in lines), f"{tag} f ^ro_ filters names",
          f"{n} expected: {lines}")
    mp = (text(out, "tty-multi-pid.txt", "") or "").strip()
    rows = screen_rows(capture(out, "pid-rows") or [])
    n = sum(1 for v in vms if str(v["pid"]) == mp)
    check(mp and rows is not None and len(rows) == n == 3 and all(str(r[1]) == mp for r in rows),
          f"{tag} p {mp} shows that VMM's three VMs", rows)

    drill = capture(out, "drill")
    m = re.match(r"VM none_ldp_nisv  pid (\d+)", drill[2] if drill and len(drill) > 2 else "")
    want = next((v for v in vms if m and v["name"] == "none_ldp_nisv" and
                 v["pid"] == int(m.group(1))), None)
    if check(drill and want, f"{tag} Enter drills into none_ldp_nisv",
             drill and drill[:3]):
        check(fits(drill, 80, 24), f"{tag} details fit 80x24", drill)
        try:
            h = next(i for i, l in enumerate(drill) if l.startswith("KIND "))
            table = Counter()
            for l in drill[h + 1:]:
                f = l.split()
                if len(f) != 5:
                    break
                table[tuple(f[:4])] += int(f[4])
        except (StopIteration, ValueError):
            table = None
        exp = Counter({(r["kind"], r["fault"], r["memslot"], r["outcome"]): r["count"]
                       for r in want["aborts"]})
        check(table == exp, f"{tag} its kind x fault x memslot x outcome table is the truth's",
              f"want {dict(exp)} got {table}")
        check(any(l.startswith("VCPU ") for l in drill) and
              any(l.startswith("data aborts injected") for l in drill),
              f"{tag} details: vCPUs, injected aborts", drill)
    end = capture(out, "drill-end")
    check(end and any(re.match(r"SLOT +BASE +SIZE +MEMSLOT ", l) for l in end) and
          any(re.match(r"- +0x50000000 +64K +none +read +nisv +4$", l) for l in end),
          f"{tag} End shows the regions with their memslot type (the NISV window "
          "outside memslots)", end)
    kind = capture(out, "kind")
    check(kind and "S1PT" in kind[4], f"{tag} k switches the columns to s1ptw", kind and kind[4])
    iv = capture(out, "interval")
    check(iv and "every 0.5s" in iv[0], f"{tag} s sets the interval", iv and iv[0])

    lines = capture(out, "reset-rows") or []
    rows = screen_rows(lines)
    old = {(v["name"], v["pid"]) for v in vms}
    check(rows and any("totals" in l for l in lines[:1]) and
          all(r[2][1] == "0" for r in rows if (r[0], r[1]) in old),
          f"{tag} r resets the totals (the workload's VMs back to 0)", lines)

    big, small, normal = capture(out, "big"), capture(out, "small"), capture(out, "normal")
    check(fits(big, 120, 40) and big[38].startswith("TOTAL") and
          big[4].index("PID") == 48 + 5, f"{tag} resize to 120x40: wider names, more rows", big)
    check(fits(small, 60, 15) and small[0].startswith("kvmcmotop") and
          small[13].startswith("TOTAL"), f"{tag} resize to 60x15: clipped, not garbled", small)
    check(fits(normal, 80, 24) and normal[22].startswith("TOTAL"), f"{tag} back to 80x24", normal)

    colour = "\n".join(capture(out, "interval") or [])
    nocolour = "\n".join(capture(out, "nocolor") or [])
    check(SGR_COLOUR.search(colour), f"{tag} colours where the terminal has them")
    check("kvmcmotop" in nocolour and not SGR_COLOUR.search(nocolour) and "\x1b[7m" in nocolour,
          f"{tag} NO_COLOR: no colour, reverse video instead", repr(nocolour[:200]))

    check(text(out, "tty-during-kill9.txt", "") != text(out, "attached-0.txt", ""),
          f"{tag} probes attached while the screen runs")
    check(text(out, "tty-after-kill9.txt", "x") == text(out, "attached-0.txt", ""),
          f"{tag} kill -9: nothing stays attached",
          f"polls {text(out, 'tty-after-kill9.txt.polls', '?')}: "
          f"{text(out, 'tty-after-kill9.txt')!r}")
    check(sane(text(out, "tty-stty-kill9.txt")), f"{tag} kill -9: the guard restored the "
          "terminal modes", text(out, "tty-stty-kill9.txt"))
    end = capture(out, "kill9-done") or []
    check(end and not any(l.startswith("TOTAL") for l in end),
          f"{tag} kill -9: the guard left the alternate screen", end)
    check((text(out, "tty-left-after-kill9.txt", "") or "").strip() == "0",
          f"{tag} kill -9: no kvmcmotop process left (the guard exits too)",
          text(out, "tty-left-after-kill9.txt"))
    check(steps.get("alive") == "ok", f"{tag} kill -9: the pane still answers")
    if text(out, "kd.pid"):
        u = capture(out, "u-remote") or []
        check(len(u) == 24 and u[0].startswith("kvmcmotop") and
              "http://127.0.0.1:10131" in u[0] and "kvmcmod" not in u[2] and
              u[23].startswith("probes detached: reading http://127.0.0.1:10131"),
              f"{tag} u: the second screen reads kvmcmod now", u)
        check((text(out, "tty-u-alive.txt", "") or "").strip() == "0" and
              text(out, "tty-after-kill9.txt", "x") == text(out, "attached-0.txt", ""),
              f"{tag} u: its probes went (only kvmcmod's stay attached while it runs on)",
              text(out, "tty-u-alive.txt"))
        e = capture(out, "u-end") or []
        check(any("exit-u=0" in l for l in e), f"{tag} u: then q, exit 0", e)
        z = capture(out, "remote-z-stopped") or []
        check(any("Stopped" in l for l in z) and not any(l.startswith("TOTAL") for l in z) and
              sane(text(out, "tty-stty-z.txt")), f"{tag} Ctrl-Z: the shell and its terminal "
              "modes back", f"{z} {text(out, 'tty-stty-z.txt')}")
        fg = capture(out, "remote-z-fg") or []
        check(steps.get("remote-z-fg") == "ok" and any(l.startswith("TOTAL") for l in fg),
              f"{tag} fg: the screen again", fg)
        for sig, rc in (("q", "0"), ("z", "0"), ("TERM", "0"), ("SEGV", str(128 + 11)),
                        ("QUIT", str(128 + 3))):
            e = capture(out, f"remote-{sig}-end") or []
            check(any(f"exit-{sig}={rc}" in l for l in e) and
                  not any(l.startswith("TOTAL") for l in e),
                  f"{tag} --remote screen ended by {sig if len(sig) == 1 else 'SIG' + sig}: "
                  f"exit {rc}, the shell's screen back", e)
            check(sane(text(out, f"tty-stty-{sig}.txt")), f"{tag} {sig}: terminal modes "
                  "restored", text(out, f"tty-stty-{sig}.txt"))


def main():
    out, k = sys.argv[1], sys.argv[2]
    truth = json.loads(text(out, "truth.json", "{}") or "{}")
    check(text(out, "workload.rc", "").strip() == "0" and truth.get("vms"), f"{k} workload ran",
          (text(out, "workload.txt", "") or "")[-300:])
    if truth.get("vms"):
        judge_batch(out, k, truth)
    if text(out, "tty-steps.txt") is not None:
        judge_tty(out, k)
    print(f"{k}: {results.count(True)} passed, {results.count(False)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
