#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Host side of tests/vm/suite-record.sh: judge what tests/vm/record/guest.sh
recorded in the emulated arm64 KVM host, and run `kvmcmo diff` (the x86
build) on it.

    check.py OUT_DIR KVMCMO [--kernel SERIES] [--html-dir DIR]

Every recorded sample is compared exactly with the workload's ground truth;
every pair of unchanged recordings must diff clean (exit 0, nothing flagged);
every unchanged-vs-changed pair must flag exactly the two rows the change
moves and exit 1; the HTML report is rendered by headless Chromium and its
charts looked for in the screenshot.  Last line: "N passed, N failed".
"""
import itertools
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + detail if detail else ""))
    return ok


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)
    return p.returncode, p.stdout, p.stderr


def load(path):
    with open(path) as f:
        return json.load(f)


def rc_of(out, name):
    try:
        with open(os.path.join(out, name + ".rc")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def truth_by_key(truth):
    """The workload's truth keyed like kvmcmo record keys VMs: the name,
    with #N by fd order where a name repeats."""
    by_name = {}
    for v in truth["vms"]:
        by_name.setdefault(v["name"], []).append(v)
    out = {}
    for name, vs in by_name.items():
        vs.sort(key=lambda v: v["fd"])
        for i, v in enumerate(vs):
            key = name if len(vs) == 1 else "%s#%d" % (name, i + 1)
            out[key] = {(a["kind"], a["fault"], a["memslot"], a["outcome"]): a["count"]
                        for a in v["aborts"]}
    return out


def sample_counts(vm):
    return {(a["kind"], a["fault"], a["memslot"], a["outcome"]): a["count"]
            for a in vm["aborts"]}


def check_against_truth(name, rec, truth, attach):
    want = truth_by_key(truth)
    ok = rec.get("format") == "kvmcmo-record" and rec.get("schema") == 1
    check(ok, name + ": format kvmcmo-record, schema 1")
    modes = {p["mode"] for p in rec["attach"]["probes"] if p["mode"] in ("fentry", "kprobe")}
    check(attach in modes, name + ": attached as " + attach, str(modes))
    bad = []
    for i, s in enumerate(rec["samples"]):
        got = {v["key"]: sample_counts(v) for v in s["vms"]}
        if got != want:
            bad.append("sample %d: %s != truth %s" % (i + 1, got, want))
        if any(s["stats"].values()):
            bad.append("sample %d: stats %s" % (i + 1, s["stats"]))
        if s.get("exit_status") != 0:
            bad.append("sample %d: exit status %s" % (i + 1, s.get("exit_status")))
    check(not bad, "%s: %d samples, every VM's counts equal the workload truth exactly" %
          (name, len(rec["samples"])), "; ".join(bad)[:2000])


def diff_json(kvmcmo, *args):
    rc, out, err = run([kvmcmo, "diff", "--json"] + list(args))
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err


def flagged(d):
    rows = set()
    for v in d["vms"]:
        for r in v["rows"]:
            if r["changed"]:
                what = "/".join(r.get(k, "") for k in ("kind", "fault", "memslot", "outcome"))
                rows.add((v["key"], r["metric"], what, r["verdict"]))
    return rows


EXPECTED_CHANGE = {
    ("none_ldp_nisv", "aborts", "read/translation/none/nisv", "DOWN"),
    ("none_ldp_nisv", "aborts", "read/translation/none/error", "UP"),
}


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise ValueError("PNG type %d depth %d" % (ctype, depth))
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows, bpp


def colour_count(rows, bpp, rgb, tol=6):
    n = 0
    for line in rows:
        for x in range(0, len(line), bpp):
            if all(abs(line[x + i] - rgb[i]) <= tol for i in range(3)):
                n += 1
    return n


def check_html(kvmcmo, out, base, new, html_dir):
    html = os.path.join(html_dir, "report.html")
    rc, _, err = run([kvmcmo, "diff", "--html", html, base, new])
    check(rc == 1, "diff --html exits 1 on the changed workload", "exit %d %s" % (rc, err))
    try:
        with open(html) as f:
            page = f.read()
    except OSError as e:
        check(False, "HTML report written", str(e))
        return
    nsvg = page.count("<svg")
    check(nsvg >= 8 and page.count("<rect") >= 20,
          "HTML has SVG charts (%d <svg>, %d <rect>)" % (nsvg, page.count("<rect")))
    ext = [t for t in ("src=", "<script", "<link", "@import", "url(", "http://", "https://")
           if t in page.replace('xmlns="http://www.w3.org/2000/svg"', "")]
    check(not ext, "HTML is self-contained (no script, link, external URL)", str(ext))
    check("none_ldp_nisv" in page and "DOWN" in page and "How to read this page" in page,
          "HTML names the changed VM, the verdict and explains itself")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not check(chromium is not None, "chromium installed (scripts/install-build-deps.sh)"):
        return
    png = os.path.join(html_dir, "report.png")
    prof = tempfile.mkdtemp(prefix="kvmcmo-chromium.")
    try:
        rc, _, err = run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-quic", "--no-first-run", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync",
                          "--user-data-dir=" + prof, "--window-size=1200,2600",
                          "--hide-scrollbars", "--screenshot=" + png, "file://" + html])
    except subprocess.TimeoutExpired:
        rc, err = -1, "timeout"
    finally:
        shutil.rmtree(prof, ignore_errors=True)
    if not check(rc == 0 and os.path.exists(png), "chromium screenshot of the report",
                 "exit %s %s" % (rc, err[-300:])):
        return
    try:
        w, h, rows, bpp = png_pixels(png)
    except (ValueError, zlib.error) as e:
        check(False, "screenshot decodes", str(e))
        return
    base_px = colour_count(rows, bpp, (0x4a, 0x78, 0xb5))
    new_px = colour_count(rows, bpp, (0xe0, 0x7b, 0x24))
    colours = len({line[x:x + 3] for line in rows[::7] for x in range(0, len(line), bpp * 7)})
    check(colours > 20, "screenshot %dx%d is not blank (%d colours sampled)" % (w, h, colours))
    check(base_px > 500 and new_px > 500,
          "charts rendered: %d base-coloured and %d new-coloured pixels" % (base_px, new_px))


def main():
    out, kvmcmo = sys.argv[1], sys.argv[2]
    html_dir = sys.argv[sys.argv.index("--html-dir") + 1] if "--html-dir" in sys.argv else out
    attach = sys.argv[sys.argv.index("--attach") + 1] if "--attach" in sys.argv else "fentry"
    bases = sorted((f for f in os.listdir(out) if f.startswith("base") and f.endswith(".json")),
                   key=lambda f: int(f[4:-5]))
    news = sorted(f for f in os.listdir(out) if f.startswith("new") and f.endswith(".json"))
    p = lambda f: os.path.join(out, f)

    # ---- what the guest ran
    for f in bases + news + ["kprobe.json"]:
        check(rc_of(out, f[:-5]) == 0, f + ": kvmcmo record exited 0 (the workload's status)",
              "exit %s" % rc_of(out, f[:-5]))
    check(rc_of(out, "exit7") == 7, "record -- sh -c 'exit 7' exits 7", str(rc_of(out, "exit7")))
    check(rc_of(out, "missing") == 127, "record of a missing command exits 127",
          str(rc_of(out, "missing")))
    check(rc_of(out, "false") == 1, "record -r 2 -- false exits 1", str(rc_of(out, "false")))
    check(rc_of(out, "window") == 0, "record -d ended by SIGINT exits 0", str(rc_of(out, "window")))
    try:
        e7 = load(p("exit7.json"))
        check([s["exit_status"] for s in e7["samples"]] == [7], "exit7.json keeps the status")
        fl = load(p("false.json"))
        check([s["exit_status"] for s in fl["samples"]] == [1, 1], "false.json: 2 samples, 1 each")
    except (OSError, ValueError, KeyError) as e:
        check(False, "exit-status recordings readable", str(e))

    # ---- counts against the ground truth
    truth, truth_nonisv = load(p("truth.json")), load(p("truth-nonisv.json"))
    for f in bases:
        check_against_truth(f, load(p(f)), truth, attach)
    for f in news:
        check_against_truth(f, load(p(f)), truth_nonisv, attach)
    check_against_truth("kprobe.json", load(p("kprobe.json")), truth, "kprobe")
    rec = load(p(bases[0]))
    check(rec["target"]["mode"] == "command" and rec["target"]["repeat"] == len(rec["samples"])
          and rec["tool"]["version"] and rec["host"]["kernel_release"] and rec["start"]
          and rec["duration_ns"] > 0 and "multi#2" in rec["vm_keys"],
          "metadata: mode, repeat, version, kernel, start, duration, VM keys")
    try:
        w = load(p("window.json"))
        s = w["samples"][0]
        got = {v["key"]: sample_counts(v) for v in s["vms"]}
        want = truth_by_key(load(p("truth-window.json")))
        check(w["target"]["mode"] == "duration" and s["interrupted"] and s["exit_status"] is None
              and got == want, "record -d: interrupted window holds exactly the rw_read VM",
              "%s vs %s" % (got, want))
        check(all(len(v["rate"]["aborts"]) >= 1 and v["rate"]["interval_ns"] == 500000000
                  for v in s["vms"]), "record -d -i 0.5: per-interval rates")
    except (OSError, ValueError, KeyError, IndexError) as e:
        check(False, "window.json readable", str(e))

    # ---- identical workloads: every pair diffs clean
    pairs = list(itertools.combinations(bases, 2))
    bad = []
    for a, b in pairs:
        rc, d, err = diff_json(kvmcmo, p(a), p(b))
        if rc != 0 or d is None or d["changed_rows"] or d["fail_on"]:
            bad.append("%s %s: exit %d, %s" % (a, b, rc, flagged(d) if d else err))
    check(len(pairs) >= 20 and not bad, "%d pairs of unchanged recordings: exit 0, nothing "
          "flagged" % len(pairs), "; ".join(bad)[:2000])
    rc, d, _ = diff_json(kvmcmo, p(news[0]), p(news[1]))
    check(rc == 0 and d and not d["changed_rows"], "the changed workload against itself: clean")
    rc, txt, _ = run([kvmcmo, "diff", p(bases[0]), p("kprobe.json")])
    check(rc == 0 and "note: different attach modes: fentry -> kprobe" in txt,
          "fentry vs kprobe recordings of one workload: clean, with a note")

    # ---- the changed workload: exactly the two moved rows, exit 1
    bad = []
    for a in bases:
        for b in news[:1] if a != bases[0] else news:
            rc, d, err = diff_json(kvmcmo, p(a), p(b))
            got = flagged(d) if d else None
            if rc != 1 or got != EXPECTED_CHANGE:
                bad.append("%s %s: exit %d, %s" % (a, b, rc, got if d else err))
    check(not bad, "unchanged vs changed (%d diffs): exit 1, flagged exactly nisv DOWN and "
          "error UP of none_ldp_nisv" % (len(bases) + len(news) - 1), "; ".join(bad)[:2000])
    rc, d, _ = diff_json(kvmcmo, p(bases[0]), p(news[0]))
    if d:
        multi = {v["key"]: v for v in d["vms"] if v["key"].startswith("multi")}
        means = {k: [r["base"]["mean"] for r in v["rows"] if r.get("kind") == "read"]
                 for k, v in multi.items()}
        check(means == {"multi#1": [1.0], "multi#2": [2.0], "multi#3": [3.0]},
              "three VMs named multi in one process matched by fd order", str(means))
    check(rc_of(out, "guest-diff-same") == 0 and rc_of(out, "guest-diff-changed") == 1,
          "diff in the guest (static arm64): 0 unchanged, 1 changed")

    # ---- several files per side
    # what this checks is that two files a side are pooled (every sample,
    # counts unchanged); abort times are the emulator's, and with 10 samples
    # a side a drift over the boot (TCG warming up) can be significant: the
    # 21 pairs above judge latency rows, 5 samples a side
    rc, d, _ = diff_json(kvmcmo, p(bases[0]), p(bases[1]), "--", p(bases[2]), p(bases[3]))
    moved = [(v["key"], r["metric"], r.get("outcome")) for v in (d or {}).get("vms", [])
             for r in v["rows"] if r["changed"]]
    check(d and d["base"]["samples"] == d["new"]["samples"] == 2 * len(rec["samples"])
          and all(m[1] == "latency_ns" for m in moved) and (rc == 0) == (not moved),
          "BASE... -- NEW...: 2 files a side, pooled, no count row changed", str(moved))
    rc, d, _ = diff_json(kvmcmo, p(bases[0]) + "," + p(bases[1]), p(news[0]))
    check(rc == 1 and d and flagged(d) == EXPECTED_CHANGE, "comma lists: changed rows flagged")

    # ---- --fail-on
    for expr, a, b, want in [
            ("nisv:-10%", bases[0], news[0], 1), ("nisv:-10%", bases[0], bases[1], 0),
            ("error@none_ldp_nisv:>0", bases[0], news[0], 1),
            ("error@none_ldp_nisv:>0", bases[0], bases[1], 0),
            ("double_faults:>0", bases[0], news[0], 0), ("latency.p99:+20%", bases[0], bases[1], 0),
            ("aborts:+1%", bases[0], news[0], 0), ("cmo.nisv:+10%", bases[0], news[0], 0)]:
        rc, txt, err = run([kvmcmo, "diff", "--fail-on", expr, p(a), p(b)])
        check(rc == want, "--fail-on '%s' %s %s: exit %d" % (expr, a, b, want),
              "exit %d %s" % (rc, err))

    # ---- bad input: one line naming the file and the place, exit 2
    tmp = tempfile.mkdtemp(prefix="kvmcmo-rec.")
    with open(p(bases[0])) as f:
        whole = f.read()
    cases = {
        "truncated.json": (whole[:len(whole) // 2], "truncated.json: line 1, column "),
        "schema99.json": (whole.replace('"schema":1', '"schema":99', 1),
                          "schema 99 is newer than this kvmcmo"),
        "stat.json": ('{"vms": [], "stats": {}}', "looks like `kvmcmo stat --json`"),
        "badlabel.json": (whole.replace('"outcome":"nisv"', '"outcome":"nisvv"', 1),
                          ".aborts[0].outcome: unknown outcome 'nisvv'"),
    }
    for name, (text, msg) in cases.items():
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
        rc, o, err = run([kvmcmo, "diff", os.path.join(tmp, name), p(bases[1])])
        check(rc == 2 and err.count("\n") == 1 and msg in err and not o,
              "bad input %s: exit 2, one line: %s" % (name, err.strip()[:160]),
              "exit %d, stderr %r" % (rc, err))
    rc, o, err = run([kvmcmo, "diff", os.path.join(tmp, "nope.json"), p(bases[1])])
    check(rc == 2 and err.count("\n") == 1 and "nope.json" in err, "missing file: exit 2")
    shutil.rmtree(tmp, ignore_errors=True)

    check_html(kvmcmo, out, p(bases[0]), p(news[0]), html_dir)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
