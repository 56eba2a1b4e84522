#!/usr/bin/env python3
"""Judge one kernel's bpftrace run (tests/vm/bpftrace/guest.sh): the counts
of tools/kvmcmo.bt against `kvmcmo stat --json` and the workload's ground
truth, exactly, per VM; the line counts of tools/kvmcmo-trace.bt against
the number of aborts of the kind it traces.

    judge.py OUTDIR KERNEL   -> "ok ..."/"FAIL ..." lines, then
                                "KERNEL: N passed, N failed"; exit 1 on failure

A VM is (pid, fd): kvmcmo's JSON has both, kvmcmo.bt's vm column is KVM's
debugfs name "<pid>-<fd>" of the same VM.  A kernel on which bpftrace
itself cannot run is one FAIL line that gives bpftrace's own reason.
"""
import json
import re
import sys
from collections import Counter

results = []


def check(ok, name, detail=""):
    results.append(bool(ok))
    print(("ok   " if ok else "FAIL ") + name + ((": " + detail) if detail and not ok else ""))
    return ok


def read(path, default=""):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return default


def load_json(path, last_line=False):
    text = read(path)
    try:
        if last_line:
            text = [l for l in text.splitlines() if l.strip()][-1]
        return json.loads(text)
    except (ValueError, IndexError) as e:
        return e


def truth_tables(doc):
    """{(pid, fd): Counter((kind, fault, memslot, outcome) -> n)}, dabts."""
    t, d = {}, {}
    for vm in doc["vms"]:
        key = (vm["pid"], vm["fd"])
        c = t.setdefault(key, Counter())
        for r in vm.get("aborts", []):
            c[(r["kind"], r["fault"], r["memslot"], r["outcome"])] += r["count"]
        dd = d.setdefault(key, Counter())
        for src, n in vm.get("dabt_injections", {}).items():
            dd[src] += n
    return t, d


MAP = re.compile(r"^@(\w+)\[(.*)\]: (\d+)$")
HIST_HEAD = re.compile(r"^@(\w+)\[(.*)\]:\s*$")
HIST_ROW = re.compile(r"^\[[^\]]*[\])]\s+(\d+) \|")
TIME = re.compile(r"^\d\d:\d\d:\d\d$")


def vm_key(name):
    m = re.match(r"^(\d+)-(\d+)$", name)
    return (int(m.group(1)), int(m.group(2))) if m else ("?", name)


def parse_bt(text):
    """kvmcmo.bt output -> list of blocks (one per time line, the last is
    the print at exit); each block: aborts, dabts, hist totals, comms."""
    blocks = [{"aborts": {}, "dabt": {}, "hist": Counter(), "comm": {}, "bad": []}]
    hist = None
    for line in text.splitlines():
        if TIME.match(line):
            blocks.append({"aborts": {}, "dabt": {}, "hist": Counter(), "comm": {}, "bad": []})
            hist = None
            continue
        b = blocks[-1]
        m = MAP.match(line)
        if m:
            hist = None
            name, keys, n = m.group(1), m.group(2).split(", "), int(m.group(3))
            if name == "aborts" and len(keys) >= 7:
                pid, vm, rest = int(keys[0]), vm_key(keys[-5]), tuple(keys[-4:])
                b["comm"][vm] = ", ".join(keys[1:-5])
                if vm[0] != pid:
                    b["bad"].append(line)
                b["aborts"].setdefault(vm, Counter())[rest] += n
            elif name == "dabt_injections" and len(keys) >= 4:
                b["dabt"].setdefault(vm_key(keys[-2]), Counter())[keys[-1]] += n
            else:
                b["bad"].append(line)
            continue
        m = HIST_HEAD.match(line)
        if m:
            keys = m.group(2).split(", ")
            hist = vm_key(keys[-2]) if m.group(1) == "abort_ns" and len(keys) >= 4 else None
            if hist is None:
                b["bad"].append(line)
            continue
        m = HIST_ROW.match(line)
        if m and hist is not None:
            b["hist"][hist] += int(m.group(1))
            continue
        hist = None
    return blocks


def fmt(c):
    return sorted(c.items()) if c else "nothing"


TRACE_ROW = re.compile(r"^\d\d:\d\d:\d\d +\d+ +\d+ +0x")


def parse_trace(text):
    rows, lost = [], []
    for line in text.splitlines():
        if TRACE_ROW.match(line):
            f = line.split()
            # TIME PID VCPU PC IPA ESR EC ISV CM S1PTW WNR DFSC KIND FAULT MEMSLOT FLAGS OUTCOME NS
            rows.append({"pid": int(f[1]), "esr": int(f[5], 16), "cm": f[8],
                         "key": (f[12], f[13], f[14], f[16])})
        elif "Lost" in line:
            lost.append(line)
    return rows, lost


def main():
    out, kernel = sys.argv[1], sys.argv[2]
    tag = kernel
    version = read(f"{out}/bt-version").strip() or "?"
    print(f"# {kernel}: kernel {read(f'{out}/uname').strip() or '?'}, {version}"
          + (f", {read(f'{out}/bt-env').strip()}" if read(f"{out}/bt-env") else ""))

    check(read(f"{out}/workload.rc").strip() == "0", f"{tag} workload ran",
          read(f"{out}/workload.txt")[-400:])
    truth = load_json(f"{out}/truth.json")
    stat = load_json(f"{out}/stat.txt", last_line=True)
    if not check(not isinstance(truth, Exception) and not isinstance(stat, Exception),
                 f"{tag} truth and kvmcmo stat --json readable",
                 f"truth: {truth!r} stat: {stat!r} {read(f'{out}/stat.err')[-300:]}"):
        return finish(kernel)
    t_ab, t_dabt = truth_tables(truth)
    s_ab, s_dabt = truth_tables(stat)

    # bpftrace itself: a kernel it cannot run on is recorded with its reason
    extra = read(f"{out}/extra").strip()
    ran = [("bt", "kvmcmo.bt"), ("trace_all", "kvmcmo-trace.bt all")]
    ran += [x for x in (("bt_interval", "kvmcmo.bt 2"), ("trace_cmo", "kvmcmo-trace.bt"))
            if x[0] == extra]
    check(len(ran) == 3 or extra == "none",
          f"{tag} third bpftrace run: " + (ran[2][1] if len(ran) == 3 else
                                            "none (KVMCMO_CI)" if extra == "none" else repr(extra)),
          f"extra {extra!r}")
    for n, what in ran:
        ready = read(f"{out}/{n}.ready").split()
        why = (read(f"{out}/{n}.err").strip().splitlines() or ["no output"])[-3:]
        check(ready, f"{tag} bpftrace {what} attached"
              + (f" (compile+attach {float(ready[1]) - float(ready[0]):.0f} s)" if len(ready) == 2 else ""),
              "bpftrace could not run it: " + " | ".join(why))
        hang = read(f"{out}/{n}.hang").strip().splitlines()[:6]
        check(read(f"{out}/{n}.rc").strip() == "0", f"{tag} bpftrace {what} exited 0 on SIGINT",
              f"rc {read(f'{out}/{n}.rc').strip()}: " + " | ".join(why)
              + (" | no exit within 120 s of SIGINT, killed: " + " | ".join(hang) if hang else ""))

    # kvmcmo.bt: one print at exit, equal to kvmcmo stat and to the truth
    blocks = parse_bt(read(f"{out}/bt.txt"))
    final = blocks[-1]
    check(len(blocks) == 1 and not final["bad"], f"{tag} kvmcmo.bt output parsed",
          f"{len(blocks)} blocks, unparsed {final['bad'][:3]}")
    judge_tables(tag + " kvmcmo.bt", final, t_ab, t_dabt, s_ab, s_dabt, truth)

    if extra == "bt_interval":
        judge_interval(tag, out, t_ab, t_dabt, s_ab, s_dabt, truth)
    judge_trace(tag, out, t_ab, extra == "trace_cmo")
    return finish(kernel)


def judge_interval(tag, out, t_ab, t_dabt, s_ab, s_dabt, truth):
    """kvmcmo.bt 2: running totals every 2 s, never decreasing; the last
    one (at exit) equal to the truth."""
    iblocks = parse_bt(read(f"{out}/bt_interval.txt"))
    check(len(iblocks) >= 3, f"{tag} kvmcmo.bt 2 printed interval tables",
          f"{len(iblocks) - 1} time lines")
    mono = all(iblocks[i]["aborts"].get(vm, Counter())[k] <= iblocks[i + 1]["aborts"].get(vm, Counter())[k]
               for i in range(1, len(iblocks) - 1)
               for vm, c in iblocks[i]["aborts"].items() for k in c)
    check(mono, f"{tag} kvmcmo.bt 2 running totals never decrease")
    judge_tables(tag + " kvmcmo.bt 2", iblocks[-1], t_ab, t_dabt, s_ab, s_dabt, truth, brief=True)


def judge_trace(tag, out, t_ab, cmo_mode):
    if cmo_mode:
        # CMO lines only (none can happen under emulation)
        n_cmo = sum(n for c in t_ab.values() for (k, _, _, _), n in c.items() if k == "cmo")
        rows, lost = parse_trace(read(f"{out}/trace_cmo.txt"))
        check("KIND" in read(f"{out}/trace_cmo.txt"), f"{tag} kvmcmo-trace.bt printed its header")
        check(len(rows) == n_cmo and not lost,
              f"{tag} kvmcmo-trace.bt: {len(rows)} lines = {n_cmo} cmo aborts in the truth "
              "(CM=1 never happens under emulation)", f"lost {lost}")
    # kvmcmo-trace.bt all: one line per abort, same labels per pid
    rows, lost = parse_trace(read(f"{out}/trace_all.txt"))
    n_all = sum(sum(c.values()) for c in t_ab.values())
    check(len(rows) == n_all and not lost,
          f"{tag} kvmcmo-trace.bt all: {len(rows)} lines = {n_all} aborts in the truth",
          f"lost {lost}")
    per_pid = {}
    for (pid, _), c in t_ab.items():
        per_pid.setdefault(pid, Counter()).update(c)
    seen = {}
    for r in rows:
        seen.setdefault(r["pid"], Counter())[r["key"]] += 1
    bad = {p: (fmt(per_pid.get(p)), fmt(seen.get(p))) for p in set(per_pid) | set(seen)
           if per_pid.get(p, Counter()) != seen.get(p, Counter())}
    check(not bad, f"{tag} kvmcmo-trace.bt all: labels per pid equal the truth",
          "; ".join(f"pid {p}: expected {e} seen {s}" for p, (e, s) in sorted(bad.items(), key=str)[:4]))
    # the decoded ESR columns agree with the kind column
    esr_bad = [r for r in rows if (r["cm"] == "1") != (r["key"][0] == "cmo")]
    check(not esr_bad, f"{tag} kvmcmo-trace.bt all: CM column agrees with kind", f"{esr_bad[:3]}")


def judge_tables(tag, block, t_ab, t_dabt, s_ab, s_dabt, truth, brief=False):
    bt_ab, bt_dabt = block["aborts"], block["dabt"]
    names = {(v["pid"], v["fd"]): v["name"] for v in truth["vms"]}
    per_vm_ok = True
    for key in sorted(t_ab):
        name = f"{tag} {names[key]} (pid {key[0]} fd {key[1]})"
        tw, ts, tb = t_ab[key], s_ab.get(key, Counter()), bt_ab.get(key, Counter())
        ok = tw == tb == ts
        per_vm_ok &= ok
        if not brief or not ok:
            check(ok, name + " aborts: truth = kvmcmo stat = kvmcmo.bt",
                  f"truth {fmt(tw)} stat {fmt(ts)} bt {fmt(tb)}")
        dw = +t_dabt.get(key, Counter())
        ds, db = +s_dabt.get(key, Counter()), +bt_dabt.get(key, Counter())
        ok = dw == ds == db
        per_vm_ok &= ok
        if not brief or not ok:
            check(ok, name + " dabt_injections", f"truth {fmt(dw)} stat {fmt(ds)} bt {fmt(db)}")
        if not brief:
            check(block["hist"][key] == sum(tb.values()), name + " histogram holds every abort",
                  f"{block['hist'][key]} in the histogram, {sum(tb.values())} aborts")
    if brief:
        check(per_vm_ok, f"{tag} last totals equal the truth for all {len(t_ab)} VMs")
    extra = sorted(set(bt_ab) - set(t_ab), key=str)
    check(not extra, f"{tag} no VM beyond the workload's", f"extra {extra}")


def finish(kernel):
    print(f"{kernel}: {results.count(True)} passed, {results.count(False)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
