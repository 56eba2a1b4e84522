#!/usr/bin/env python3
"""Judge what tests/vm/kvmcmod/guest.sh gathered in one guest.

    judge.py OUTDIR KERNEL PROMTOOL QUERIES

Every check prints "ok NAME" or "FAIL NAME: why"; the last line is
"kernel KERNEL: N passed, N failed".  Counts are compared exactly with the
workload's ground truth (truth.json from `kvmcmo selftest --workload-only`,
hostile.json from one `kvmcmo __run-case`).  Emulation never produces CM=1
(CMO) aborts, so every per-interval CMO rate is 0 here.
"""
import json
import os
import re
import subprocess
import sys

OUT, KERNEL, PROMTOOL, QUERIES = sys.argv[1:5]
passed = failed = 0


def check(name, cond, why=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok {KERNEL} {name}")
    else:
        failed += 1
        print(f"FAIL {KERNEL} {name}: {why}")
    return cond


def read(name, default=None):
    try:
        with open(os.path.join(OUT, name), encoding="utf-8", errors="replace",
                  newline="") as f:
            return f.read()
    except OSError:
        return default


def rc(name):
    t = read(name)
    try:
        return int(t.strip())
    except (AttributeError, ValueError):
        return None


def load_json(name):
    t = read(name)
    try:
        return json.loads(t) if t else None
    except ValueError:
        return None


# ---- the text format -----------------------------------------------------------

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse_labels(s):
    labels, i = {}, 0
    while i < len(s):
        m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="', s[i:])
        if not m:
            raise ValueError(f"bad labels at {s[i:]!r}")
        name, i, v = m.group(1), i + m.end(), []
        while s[i] != '"':
            if s[i] == "\\":
                v.append({"\\": "\\", '"': '"', "n": "\n"}[s[i + 1]])
                i += 2
            else:
                v.append(s[i])
                i += 1
        labels[name] = "".join(v)
        i += 1
        if i < len(s) and s[i] == ",":
            i += 1
    return labels


def parse_page(text):
    """{(name, frozenset(labels.items())): float}"""
    series = {}
    for line in (text or "").splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            raise ValueError(f"bad line {line!r}")
        key = (m.group(1), frozenset(parse_labels(m.group(3) or "").items()))
        series[key] = float(m.group(4))
    return series


def family(series, name, **match):
    """{labels dict as frozenset minus vm/pid...: value} of one family"""
    out = {}
    for (n, ls), v in series.items():
        d = dict(ls)
        if n == name and all(d.get(k) == v2 for k, v2 in match.items()):
            out[ls] = v
    return out


# ---- truth -----------------------------------------------------------------------

def truth_vms():
    vms = []
    t = load_json("truth.json")
    if t:
        vms += t.get("vms", [])
    h = read("hostile.json") or ""
    for line in h.splitlines():
        try:
            vms += json.loads(line).get("vms", [])
        except ValueError:
            pass
    return vms


def abort_key(a):
    return (a["kind"], a["fault"], a["memslot"], a["outcome"])


def main():
    # core: the suite's CI mode on this kernel (guest.sh says what it skips)
    full = (read("mode", "full").strip() or "full") == "full"
    vms = truth_vms()
    check("workload ran", rc("workload.rc") == 0 and len(vms) > 10,
          f"workload rc {rc('workload.rc')}, {len(vms)} VMs in the truth")
    check("hostile-name VM ran", rc("hostile.rc") == 0 and
          any(v["name"] == 'a"b\\c\nd' for v in vms), read("hostile.err", "")[-300:])
    if full:
        check("--check attaches and exits 0", rc("check.rc") == 0, read("check.out", "")[-300:])
    # before 5.19 with kernel.unprivileged_bpf_disabled set, bpf() wants
    # CAP_BPF for every command, reading maps included: that one stays
    caps = read("caps.txt", "")
    rel = tuple(int(x) for x in re.findall(r"\d+", read("uname", "0.0"))[:2])
    gated = rel < (5, 19) and (read("unpriv-bpf.txt", "0").strip() or "0") != "0"
    want = "0000008000000000" if gated else "0000000000000000"
    check(f"capabilities dropped after attach ({'all but CAP_BPF' if gated else 'all'})",
          caps and all(l.split()[1] == want for l in caps.splitlines()) and
          (not gated or "keeping it" in read("a.err", "")), caps)

    # promtool on every page
    for page in ("a-metrics.txt", "b-metrics.txt" if full else None, "c-metrics.txt",
                 "a-textfile.prom"):
        if page is None:
            continue
        text = read(page)
        if not check(f"{page} fetched", text is not None and "kvmcmo_vms" in text, "missing"):
            continue
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True)
        check(f"promtool check metrics {page}", p.returncode == 0,
              (p.stdout + p.stderr).decode()[-500:])

    try:
        a = parse_page(read("a-metrics.txt"))
        b = parse_page(read("b-metrics.txt")) if full else {}
        c = parse_page(read("c-metrics.txt"))
        tf = parse_page(read("a-textfile.prom"))
        after = parse_page(read("a-metrics-after-http.txt"))
    except (ValueError, KeyError, IndexError) as e:
        check("pages parse", False, str(e))
        return
    api = load_json("a-api.json") or {}

    # labels of each truth VM: by pid and fd, from the snapshot document
    label = {}
    for v in api.get("vms", []):
        label[(v["pid"], v["fd"])] = v.get("label")
    check("api: one VM per truth VM", len(api.get("vms", [])) == len(vms),
          f"{len(api.get('vms', []))} in the document, {len(vms)} in the truth")

    # ---- A: exact values per VM ----
    bad = []
    for v in vms:
        lb = label.get((v["pid"], v["fd"]))
        if lb is None:
            bad.append(f"{v['name']!r} pid {v['pid']} fd {v['fd']}: not in the document")
            continue
        want = {abort_key(x): x["count"] for x in v["aborts"]}
        got = {}
        for ls, val in family(a, "kvmcmo_guest_aborts_total", vm=lb, pid=str(v["pid"])).items():
            d = dict(ls)
            got[(d["kind"], d["fault"], d["memslot"], d["outcome"])] = int(val)
        if got != want:
            bad.append(f"{lb!r}: page {sorted(got.items())} truth {sorted(want.items())}")
        for src, n in v["dabt_injections"].items():
            got_d = family(a, "kvmcmo_dabt_injections_total", vm=lb, pid=str(v["pid"]), source=src)
            if list(got_d.values()) != [float(n)]:
                bad.append(f"{lb!r}: dabt {src} {list(got_d.values())} != {n}")
        want_df = {(d["kind"], d["memslot"]): d["count"] for d in v.get("double_faults", [])}
        got_df = {(dict(ls)["kind"], dict(ls)["memslot"]): int(val) for ls, val in
                  family(a, "kvmcmo_double_faults_total", vm=lb, pid=str(v["pid"])).items()}
        if got_df != want_df:
            bad.append(f"{lb!r}: double faults {got_df} != {want_df}")
        reg = sum(family(a, "kvmcmo_region_aborts_total", vm=lb, pid=str(v["pid"])).values())
        if int(reg) != sum(want.values()):
            bad.append(f"{lb!r}: regions sum to {reg}, aborts {sum(want.values())}")
        # the document: same counts
        doc = next((d for d in api.get("vms", []) if d["pid"] == v["pid"] and d["fd"] == v["fd"]), {})
        if {abort_key(x): x["count"] for x in doc.get("aborts", [])} != want:
            bad.append(f"{lb!r}: /api/v1/snapshot aborts differ from the truth")
        # no CMO abort under emulation: every interval's rate is 0
        cnt = family(a, "kvmcmo_cmo_aborts_per_second_count", vm=lb, pid=str(v["pid"]))
        zero = family(a, "kvmcmo_cmo_aborts_per_second_bucket", vm=lb, pid=str(v["pid"]), le="0")
        ssum = family(a, "kvmcmo_cmo_aborts_per_second_sum", vm=lb, pid=str(v["pid"]))
        if not (list(cnt.values()) and list(cnt.values())[0] >= 1 and
                list(zero.values()) == list(cnt.values()) and list(ssum.values()) == [0.0]):
            bad.append(f"{lb!r}: CMO rate histogram count {cnt} le=0 {zero} sum {ssum}")
    check("A: every VM's series equal the truth exactly (aborts, dabt, double faults, "
          "regions, API)", not bad, "; ".join(bad[:6]))

    vm_series = {dict(ls)["vm"] for (n, ls) in a if n == "kvmcmo_dabt_injections_total"}
    check("A: no VM beyond the workload's", len(vm_series) == len(vms),
          f"{len(vm_series)} vm labels, {len(vms)} truth VMs")
    check("A: vm labels unique per pid", len({(v["pid"], label.get((v["pid"], v["fd"])))
                                              for v in vms}) == len(vms), str(label))
    hostile = [v for v in vms if v["name"] == 'a"b\\c\nd']
    check("A: hostile name round-trips through the text format",
          hostile and label.get((hostile[0]["pid"], hostile[0]["fd"])) == 'a"b\\c\nd',
          str([label.get((h["pid"], h["fd"])) for h in hostile]))

    # host-wide latency histogram counts = aborts by outcome
    by_out = {}
    for v in vms:
        for x in v["aborts"]:
            by_out[x["outcome"]] = by_out.get(x["outcome"], 0) + x["count"]
    got = {dict(ls)["outcome"]: int(val) for ls, val in
           family(a, "kvmcmo_abort_handling_seconds_count").items()}
    check("A: host-wide handling-time histogram counts = aborts by outcome",
          got == by_out, f"page {got} truth {by_out}")
    inf = {dict(ls)["outcome"]: int(val) for ls, val in
           family(a, "kvmcmo_abort_handling_seconds_bucket", le="+Inf").items()}
    check("A: +Inf bucket = _count", inf == got, f"{inf} vs {got}")
    # a destroy kprobe the kernel skipped (recursion guard, preemptible
    # kernels) is found by reap.c: vm_destroy_unseen, no more than those
    a_unseen = sum(int(v) for v in family(a, "kvmcmo_probe_anomalies_total",
                                           reason="vm_destroy_unseen").values())
    a_destroy_misses = sum(int(v) for ls, v in family(a, "kvmcmo_bpf_program_misses_total").items()
                           if dict(ls)["program"].startswith("destroy_vm_"))
    check("A: no map-full drops, no anomalies" +
          (f" but {a_unseen} VM destroys the kernel's recursion guard hid" if a_unseen else ""),
          a.get(("kvmcmo_map_full_drops_total", frozenset())) == 0 and
          all(v == 0 for ls, v in family(a, "kvmcmo_probe_anomalies_total").items()
              if dict(ls)["reason"] != "vm_destroy_unseen") and
          a_unseen <= a_destroy_misses,
          str(family(a, "kvmcmo_probe_anomalies_total")))
    destroy_runs = sum(int(v) for ls, v in family(a, "kvmcmo_bpf_program_runs_total").items()
                       if dict(ls)["program"].startswith("destroy_vm_"))
    check("A: the destroy probe ran for every VM",
          destroy_runs + a_destroy_misses >= len(vms) and destroy_runs > 0,
          f"runs {destroy_runs} + misses {a_destroy_misses} vs {len(vms)} VMs")
    runs = family(a, "kvmcmo_bpf_program_runs_total")
    check("A: BPF run counts (kernel.bpf_stats_enabled=1)",
          runs and max(runs.values()) >= sum(by_out.values()), str(runs)[:300])
    check("A: probe_info names the abort tracepoint",
          any(dict(ls)["function"] == "kvm_guest_fault" and dict(ls)["mode"] == "tracepoint"
              for ls in family(a, "kvmcmo_probe_info")),
          str(family(a, "kvmcmo_probe_info"))[:300])

    # textfile: same counters as the page (nothing changed after the workload)
    fam = "kvmcmo_guest_aborts_total"
    check("textfile: same aborts as /metrics, no process_* families",
          family(tf, fam) == family(a, fam) and
          not any(n.startswith("process_") for (n, _) in tf) and
          # a poll's temp file may be there for a moment (written, then
          # renamed over kvmcmo.prom): anything else is litter
          [f for f in read("textfile-dir.txt", "").split()
           if not f.startswith("kvmcmo.prom.") or not f.endswith(".tmp")] == ["kvmcmo.prom"],
          f"textfile dir {read('textfile-dir.txt')!r}")

    # monotonic: the page before the workload never exceeds the page after
    try:
        before = parse_page(read("a-before.txt"))
    except ValueError as e:
        before = {}
        check("a-before parses", False, str(e))
    regress = [k for k, v in before.items() if k[0].endswith("_total") and
               k[0] != "process_cpu_seconds_total" and a.get(k, v) < v]
    check("A: no counter went backwards", not regress, str(regress[:5]))

    # ---- B: --max-vms 2 and per-VM latency ----
    if full:
        tracked = {(dict(ls)["vm"], dict(ls)["pid"]) for (n, ls) in b
                   if n == "kvmcmo_dabt_injections_total"}
        first2 = [(v["name"], str(v["pid"])) for v in vms[:2]]
        check("B: --max-vms 2 tracks the first two VMs", sorted(tracked) == sorted(first2),
              f"{sorted(tracked)} vs {first2}")
        check("B: the rest counted in kvmcmo_vms_dropped_total",
              b.get(("kvmcmo_vms_dropped_total", frozenset())) == len(vms) - 2,
              f"{b.get(('kvmcmo_vms_dropped_total', frozenset()))} vs {len(vms) - 2}")
        bad = []
        for v in vms[:2]:
            want = {}
            for x in v["aborts"]:
                want[x["outcome"]] = want.get(x["outcome"], 0) + x["count"]
            got = {dict(ls)["outcome"]: int(val) for ls, val in
                   family(b, "kvmcmo_abort_handling_seconds_count", vm=v["name"],
                          pid=str(v["pid"])).items()}
            if got != want:
                bad.append(f"{v['name']}: {got} vs {want}")
        check("B: per-VM handling-time histograms count each VM's aborts", not bad, "; ".join(bad))

    # ---- C: grace (and --attach kprobe) ----
    # A kprobe program does not run while another BPF program, or a BPF
    # map syscall (bpf_disable_instrumentation), is active on that CPU;
    # the kernel counts each such run in the program's recursion_misses.
    # On a preemptible kernel a poller preempted inside a map read can so
    # hide an abort from every kprobe program (fentry programs have their
    # own guard): then C's loss must be exactly that, recorded by the
    # kernel, and nothing else.
    c_out = {dict(ls)["outcome"]: int(val) for ls, val in
             family(c, "kvmcmo_abort_handling_seconds_count").items()}
    c_total, truth_total = sum(c_out.values()), sum(by_out.values())
    lost = truth_total - c_total
    misses = sum(int(x) for x in re.findall(r"^recursion_misses:\s*(\d+)",
                                              read("c-progs.txt", ""), re.M))
    entry_runs = sum(int(v) for ls, v in family(c, "kvmcmo_bpf_program_runs_total").items()
                     if dict(ls)["program"].startswith("abort_open_"))
    preemptible = "PREEMPT" in read("uname-v", "")
    # the page took the kernel's count over later (counters only grow)
    page_misses = family(c, "kvmcmo_bpf_program_misses_total")
    check("C: kvmcmo_bpf_program_misses_total carries the kernel's recursion misses",
          page_misses and sum(int(v) for v in page_misses.values()) >= misses,
          f"page {sum(int(v) for v in page_misses.values())} over {len(page_misses)} "
          f"programs, fdinfo earlier {misses}")
    expired = c.get(("kvmcmo_vms_expired_total", frozenset()))
    # C runs without a destroy probe (KVMCMO_NO_PROBE=kvm_arch_destroy_vm),
    # as when the kernel's recursion guard skips a destroy kprobe: reap.c
    # must find every VM's end from KVM's debugfs, or /proc without it
    check("C: no destroy probe attached",
          any(dict(ls)["function"] == "kvm_arch_destroy_vm" and dict(ls)["mode"] == "absent"
              for ls in family(c, "kvmcmo_probe_info")) and
          not any(dict(ls)["program"].startswith("destroy_vm_")
                  for ls in family(c, "kvmcmo_bpf_program_runs_total")),
          str(family(c, "kvmcmo_probe_info"))[:300])
    unseen = family(c, "kvmcmo_probe_anomalies_total", reason="vm_destroy_unseen")
    # guest.sh ran C without debugfs on some kernels: reap.c then reads
    # /proc/PID/fd; ls of KVM's debugfs dir says which
    debugfs = "No such file" not in read("c-debugfs.txt", "No such file")
    want_debugfs = not read("uname", "").startswith(("5.10.", "6.12."))
    check("C: every VM's destroy found without the probe, from " +
          ("KVM's debugfs" if debugfs else "/proc (no debugfs)") + " (vm_destroy_unseen = VMs)",
          sum(int(v) for v in unseen.values()) == len(vms) and debugfs == want_debugfs,
          f"{unseen} vs {len(vms)} VMs; debugfs {debugfs}, wanted {want_debugfs}: "
          f"{read('c-debugfs.txt', '')[:200]!r}")
    check("C: every destroyed VM expired after its 2 s grace",
          c.get(("kvmcmo_vms", frozenset({("state", "alive")}))) == 0 and
          c.get(("kvmcmo_vms", frozenset({("state", "destroyed")}))) == 0 and
          expired == len(vms) and not family(c, "kvmcmo_guest_aborts_total"),
          f"expired {expired} of {len(vms)}, alive "
          f"{c.get(('kvmcmo_vms', frozenset({('state', 'alive')})))}, destroyed "
          f"{c.get(('kvmcmo_vms', frozenset({('state', 'destroyed')})))}")
    rows = {dict(ls)["map"]: int(val) for ls, val in family(c, "kvmcmo_kernel_map_rows").items()}
    check("C: expired VMs' rows left every kernel map",
          len(rows) == 5 and not any(rows.values()) and
          family(c, "kvmcmo_kernel_map_capacity"), str(rows))
    if not lost:
        check("C: host-wide histograms keep expired VMs", c_out == by_out,
              f"page {c_out} truth {by_out}")
    else:
        check(f"C: host-wide histograms keep expired VMs; {lost} of {truth_total} aborts "
              f"hidden from the kprobe programs by the kernel's recursion guard "
              f"({misses} recursion misses recorded, {read('uname-v', '').strip()})",
              preemptible and 0 < lost <= misses and c_total == entry_runs and
              all(c_out.get(o, 0) <= n for o, n in by_out.items()),
              f"page {c_out} truth {by_out}; abort_open runs {entry_runs}, "
              f"recursion misses {misses}, preemptible kernel: {preemptible}")

    # ---- HTTP ----
    def status(name):
        t = read(name, "")
        m = re.match(r"HTTP/1\.[01] (\d+)", t)
        return int(m.group(1)) if m else None
    head = read("http-head.txt", "")
    check("HEAD /metrics: 200, headers, no body", status("http-head.txt") == 200 and
          "text/plain; version=0.0.4" in head and head.split("\r\n\r\n", 1)[-1] == "",
          head[:200])
    check("GET /nope: 404", status("http-404.txt") == 404, read("http-404.txt", "")[:100])
    for n in ("post", "brew"):
        t = read(f"http-405-{n}.txt", "")
        check(f"{n.upper()} /metrics: 405 with Allow", status(f"http-405-{n}.txt") == 405 and
              "Allow: GET, HEAD" in t, t[:200])
    check("GET /: 200 landing page", status("http-root.txt") == 200, "")
    check("GET /api/v1/snapshot: application/json", status("http-api.txt") == 200 and
          "application/json" in read("http-api.txt", ""), "")
    check("garbage request: 400, daemon alive", status("http-garbage.txt") == 400 and
          rc("alive-after-http.rc") == 0, read("http-garbage.txt", "")[:100])
    check("100 KiB header: 431 (or closed), daemon alive",
          status("http-bighdr.txt") in (431, 413, 400, None) and rc("alive-after-http.rc") == 0,
          read("http-bighdr.txt", "")[:100])
    if full:
        check("/healthz answers while 20 slow clients hold connections",
              rc("healthz-slow.rc") == 0 and read("healthz-slow.txt", "").strip() == "ok",
              f"rc {rc('healthz-slow.rc')}: {read('healthz-slow.err', '')[-200:]}")
    check("counters unchanged by the malformed requests",
          family(after, fam) == family(a, fam), "")
    check("/healthz ok", rc("healthz.rc") == 0 and read("healthz.txt", "").strip() == "ok", "")

    # ---- TLS and basic auth (C) ----
    if full:
        check("C over HTTPS with the right user and password: 200 ok",
              rc("tls-ok.rc") == 0 and read("tls-ok.txt", "").strip() == "ok",
              read("tls-ok.err", "")[-200:])
        check("C without credentials: 401", rc("tls-noauth.rc") != 0 and
              "401" in read("tls-noauth.err", ""), read("tls-noauth.err", "")[-200:])
        check("C with a wrong password: 401", rc("tls-badpw.rc") != 0 and
              "401" in read("tls-badpw.err", ""), read("tls-badpw.err", "")[-200:])
        check("C: plain HTTP on the TLS port gets no HTTP answer",
              not read("tls-plain.txt", "").startswith("HTTP/1.1 200"), read("tls-plain.txt", "")[:100])

    # ---- signals ----
    check("SIGHUP: still serving", rc("alive-after-hup.rc") == 0 and rc("healthz-hup.rc") == 0,
          f"alive {rc('alive-after-hup.rc')}, healthz {rc('healthz-hup.rc')}: "
          f"{read('healthz-hup.err', '')[-200:]}")
    for d in ("a", "b", "c") if full else ("a", "c"):
        check(f"SIGTERM: kvmcmod {d} exits 0", rc(f"{d}.rc") == 0,
              f"rc {rc(f'{d}.rc')}: {read(d + '.err', '')[-300:]}")
    check("probes attached while running", read("attached-during.txt", "").strip() != "", "")
    check("nothing attached after the daemons exit",
          read("attached-after.txt", "x").strip() == "", read("attached-after.txt", ""))

    # ---- Prometheus ----
    if not full:
        return
    pa = load_json("prom-aborts.json") or {}
    got = {}
    for r in pa.get("data", {}).get("result", []):
        m = r["metric"]
        got[(m.get("vm"), m.get("pid"), m["kind"], m["fault"], m["memslot"], m["outcome"])] = \
            int(float(r["value"][1]))
    want = {}
    for v in vms:
        lb = label.get((v["pid"], v["fd"]))
        for x in v["aborts"]:
            want[(lb, str(v["pid"])) + abort_key(x)] = x["count"]
    check("Prometheus (real server, scraping A) returns the truth for every series",
          pa.get("status") == "success" and got == want,
          f"{len(got)} series from Prometheus, {len(want)} in the truth; "
          f"first differences {sorted(set(got.items()) ^ set(want.items()))[:4]}")
    queries = [l.split("\t") for l in open(QUERIES)
               .read().splitlines() if l]
    for qid, fam_name, _ in queries:
        doc = load_json(f"q/{qid}.json") or {}
        data = doc.get("data")
        n = len(data.get("result", [])) if isinstance(data, dict) else len(data or [])
        present = any(n2.startswith(fam_name) for (n2, _) in a)
        if present:
            check(f"dashboard query {qid} ({fam_name}) returns data",
                  doc.get("status") == "success" and n > 0, str(doc)[:200])
        else:
            check(f"dashboard query {qid} ({fam_name}) runs; no such series in this run "
                  f"(nothing of that kind happened under emulation)",
                  doc.get("status") == "success", str(doc)[:200])


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a judge crash is a failure, never a pass
        check("judge", False, f"{type(e).__name__}: {e}")
    print(f"kernel {KERNEL}: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
