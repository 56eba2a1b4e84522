#!/usr/bin/env python3
"""Judge one kernel's core test: kvmcmo's measurements against the
workload's ground truth, exactly (no "at least"), and the kill -9 check.

Independent of kvmcmo's own comparator (tools/kvmcmo/selftest.c): this is
the test's reading of the two JSON documents.

    compare.py OUTDIR KERNEL  -> "ok ..."/"FAIL ..." lines, exit 1 on failure
"""
import json
import os
import sys
from collections import Counter

results = []


def check(ok, name, detail=""):
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + ((": " + detail) if detail and not ok else ""))


def load(path):
    try:
        with open(path) as f:
            text = f.read()
        # kvmcmo stat --json prints one object per line; the last is the total
        lines = [l for l in text.splitlines() if l.strip()]
        return json.loads(lines[-1] if path.endswith("stat.json") or "/stat-" in path else text)
    except (OSError, ValueError, IndexError) as e:
        return e


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def table(vm):
    t = Counter()
    for r in vm.get("aborts", []):
        t[(r["kind"], r["fault"], r["memslot"], r["outcome"])] += r["count"]
    return t


def dfaults(vm):
    t = Counter()
    for r in vm.get("double_faults", []):
        t[(r["kind"], r["memslot"])] += r["count"]
    return t


def compare_mode(out, kernel, mode, kill9=True):
    tag = f"{kernel} {mode}"
    truth = load(f"{out}/truth-{mode}.json")
    stat = load(f"{out}/stat-{mode}.json")
    check(read(f"{out}/workload-{mode}.rc") == "0", f"{tag} workload ran",
          read(f"{out}/workload-{mode}.txt")[-400:])
    check(read(f"{out}/stat-{mode}.rc") == "0", f"{tag} stat exited 0 on SIGINT",
          read(f"{out}/stat-{mode}.err")[-400:])
    if isinstance(truth, Exception) or isinstance(stat, Exception):
        check(False, f"{tag} outputs readable", f"truth: {truth!r} stat: {stat!r}")
        return
    seen = {(v["pid"], v["fd"]): v for v in stat["vms"]}
    matched = set()
    for want in truth["vms"]:
        key = (want["pid"], want["fd"])
        got = seen.get(key)
        name = f"{tag} {want['name']} (pid {key[0]} fd {key[1]})"
        if got is None:
            check(False, name, "no such VM in kvmcmo stat")
            continue
        matched.add(key)
        tw, tg = table(want), table(got)
        check(tw == tg, name + " aborts",
              f"expected {sorted(tw.items())} seen {sorted(tg.items())}")
        check(want["dabt_injections"] == got["dabt_injections"], name + " dabt_injections",
              f"expected {want['dabt_injections']} seen {got['dabt_injections']}")
        dw, dg = dfaults(want), dfaults(got)
        check(dw == dg, name + " double_faults", f"expected {dict(dw)} seen {dict(dg)}")
        check(got["name"] == want["name"], name + " name", f"seen {got['name']!r}")
    extra = [k for k in seen if k not in matched]
    check(not extra, f"{tag} no VM beyond the workload's", f"extra {extra}")
    bad = {k: v for k, v in stat.get("stats", {}).items() if v}
    unseen = bad.pop("vm_destroy_unseen", 0) if not kill9 else 0
    check(not bad, f"{tag} no drops or lost records" +
          (f" ({unseen} VM ends found without the destroy probe)" if unseen else ""), f"{bad}")
    if not kill9:
        return

    during = read(f"{out}/during-{mode}.txt")
    after = read(f"{out}/after-{mode}.txt", "missing")
    check(bool(during), f"{tag} probes visible while attached", "nothing listed while attached")
    check("abort_open_tp" in during and "guest_entry_tp" in during,
          f"{tag} tracepoint programs listed while attached (check --loaded)", f"during: {during!r}")
    check(after == "", f"{tag} kill -9 leaves nothing attached",
          f"after: {after!r} (polls {read(f'{out}/after-{mode}.polls')})")


def main():
    out, kernel = sys.argv[1], sys.argv[2]
    modes = read(f"{out}/modes").split()
    check(read(f"{out}/check.rc") == "0", f"{kernel} kvmcmo check", read(f"{out}/check.err"))
    expect_fentry = kernel not in ("5.10", "6.1")
    check(("fentry" in modes) == expect_fentry, f"{kernel} attach modes {modes}",
          "fentry availability differs from KERNELS.md")
    for m in modes:
        compare_mode(out, kernel, m)
    # kprobes without the destroy probe (KVMCMO_NO_PROBE): same exact counts
    compare_mode(out, kernel, "nodestroy", kill9=False)
    # unsupported hosts made from this one: exit 3, one line saying why
    for name, why in (("no_btf", "no kernel BTF"), ("unprivileged", "not privileged"),
                      ("no_kvm_symbol", "kvm_handle_guest_abort not found"),
                      ("no_io_mem_abort", "io_mem_abort cannot be probed"),
                      ("no_dev_kvm", "no /dev/kvm")):
        err = read(f"{out}/hostcheck-{name}.err", "missing")
        check(read(f"{out}/hostcheck-{name}.rc") == "3" and len(err.splitlines()) == 1
              and why in err and read(f"{out}/hostcheck-{name}.out", "x") == "",
              f"{kernel} unsupported host ({name}): exit 3, one line", f"{err!r}")
    st = read(f"{out}/selftest.txt")
    check(read(f"{out}/selftest.rc") == "0" and "0 failed" in st, f"{kernel} kvmcmo selftest",
          st[-600:])
    print(f"{kernel}: {results.count(True)} passed, {results.count(False)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
