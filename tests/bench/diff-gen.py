#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Synthetic, schema-valid kvmcmo recordings (docs/record-schema.md).

For the `kvmcmo diff` speed benchmark (1,000-VM recordings: the emulated
rig cannot run that many VMs) and for the statistics checks: every count is
a real Poisson draw and every histogram a real multinomial draw from a
per-VM profile fixed by --profile-seed, so two files made with the same
profile seed and different --seed values are two independent recordings of
one unchanged workload.  --change injects a known change.

    diff-gen.py --vms 1000 --samples 3 --seed 1 -o base.json
    diff-gen.py --vms 1000 --samples 3 --seed 2 -o new.json
    diff-gen.py ... --change nisv-to-error:0.1      # 10% of the VMs changed
    diff-gen.py ... --change latency-x2:0.1         # their aborts take twice as long

The output says in target.command that it is synthetic.
"""
import argparse
import json
import math
import random

KINDS = ["cmo", "s1ptw", "write", "read", "exec"]
FAULTS = ["translation", "permission", "access_flag", "other"]
MEMSLOTS = ["none", "ro", "rw_dirty_log", "rw"]
OUTCOMES = ["mmio_user", "nisv", "mmio_kernel", "inject_dabt", "map_rw", "map_ro",
            "relax", "access_flag", "skip", "error", "other"]
STATS = ["map_full", "no_entry", "entry_busy", "vm_overflow"]
SLOTS = 40


def poisson(rng, lam):
    """Knuth below 30, Hormann's PTRS (transformed rejection) above."""
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    slam, loglam = math.sqrt(lam), math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <=
                -lam + k * loglam - math.lgamma(k + 1)):
            return k


def poisson_hist(rng, lam, shape):
    """A Poisson process split over buckets: each bucket's count is an
    independent Poisson draw, so their sum is Poisson(lam) and the shape is
    the profile's: exact, and O(buckets)."""
    return [poisson(rng, lam * p) if lam * p > 1e-9 else 0 for p in shape]


def profile(prng, i):
    """One VM's expected behaviour: classes with rates, latency shapes."""
    rows = []
    for _ in range(prng.randint(4, 10)):
        rows.append(((prng.choice(KINDS[1:]), prng.choice(FAULTS[:2]),
                      prng.choice(MEMSLOTS), prng.choice(OUTCOMES)),
                     prng.choice([1, 4, 30, 200, 2000])))
    if i % 7 == 0:      # some VMs see CMOs (real hardware does)
        rows.append((("cmo", "translation", "ro", "nisv"), 400))
    rows = dict(rows)
    lat = {}
    for o in sorted({k[3] for k in rows} | {"nisv", "error"}):
        centre = prng.uniform(11, 18)
        w = [math.exp(-((s - centre) ** 2) / 2.0) for s in range(SLOTS)]
        t = sum(w)
        lat[o] = [x / t for x in w]
    return {"rows": rows, "lat": lat, "dfault": 30 if i % 7 == 0 else 0,
            "dabt": 2 if i % 11 == 0 else 0}


def hist_json(counts):
    buckets = [{"le": 1 << (s + 1), "count": c} for s, c in enumerate(counts) if c]
    n = sum(counts)
    total = sum(c * int(1.5 * (1 << s)) for s, c in enumerate(counts))
    return {"count": n, "sum": total, "p50": 0, "p99": 0, "buckets": buckets}


def vm_json(key, prof, rng, change, seconds):
    aborts = []
    lat = {}
    for (k, f, m, o), lam in sorted(prof["rows"].items()):
        shape = prof["lat"][o]
        if change == "latency-x2":
            shape = [0.0] + shape[:-1]      # every abort takes twice as long
        elif change and o == "nisv":
            o = "error"
        b = poisson_hist(rng, lam, shape)
        if sum(b):
            aborts.append({"kind": k, "fault": f, "memslot": m, "outcome": o, "count": sum(b)})
            acc = lat.setdefault(o, [0] * SLOTS)
            for i, c in enumerate(b):
                acc[i] += c
    # rows of one class in several memslots/faults share an outcome: merge
    merged = {}
    for r in aborts:
        ck = (r["kind"], r["fault"], r["memslot"], r["outcome"])
        merged[ck] = merged.get(ck, 0) + r["count"]
    aborts = [{"kind": k[0], "fault": k[1], "memslot": k[2], "outcome": k[3], "count": c}
              for k, c in sorted(merged.items(), key=lambda kv: (
                  KINDS.index(kv[0][0]), FAULTS.index(kv[0][1]),
                  MEMSLOTS.index(kv[0][2]), OUTCOMES.index(kv[0][3])))]
    dfaults = []
    if prof["dfault"]:
        g = poisson_hist(rng, prof["dfault"], next(iter(prof["lat"].values())))
        if sum(g):
            dfaults.append({"kind": "cmo", "memslot": "ro", "count": sum(g),
                            "gap_ns": hist_json(g)})
    total = sum(a["count"] for a in aborts)
    ticks = max(1, int(seconds))
    per = [total // ticks] * ticks
    per[-1] += total - sum(per)
    return {"id": 0, "pid": 1000, "fd": 5, "name": key.split("#")[0], "alive": False,
            "key": key, "aborts": aborts,
            "dabt_injections": {"abort": 0, "userspace": poisson(rng, prof["dabt"])},
            "double_faults": dfaults,
            "latency_ns": {o: hist_json(c) for o, c in sorted(lat.items())},
            "rate": {"interval_ns": 1000000000, "aborts": per}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vms", type=int, default=10)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1, help="the draws (one recording)")
    ap.add_argument("--profile-seed", type=int, default=42, help="the workload")
    ap.add_argument("--change", default="", help="nisv-to-error:FRACTION of the VMs")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    prng = random.Random(a.profile_seed)
    profiles = [profile(prng, i) for i in range(a.vms)]
    rng = random.Random(a.seed * 1000003 + a.profile_seed)
    changed, what = set(), ""
    if a.change:
        what, frac = a.change.split(":")
        if what not in ("nisv-to-error", "latency-x2"):
            ap.error("--change: nisv-to-error:FRACTION or latency-x2:FRACTION")
        n = max(1, int(round(float(frac) * a.vms)))
        changed = {i for i in range(a.vms)
                   if what != "nisv-to-error" or "nisv" in {k[3] for k in profiles[i]["rows"]}}
        changed = set(sorted(changed)[:n])
    samples = []
    t0 = 1767225600 * 10**9 + a.seed * 10**12
    for s in range(a.samples):
        seconds = 10.0
        vms = [vm_json("vm%04d" % i if i % 50 else "multi#%d" % (i // 50 + 1),
                       profiles[i], rng, what if i in changed else "", seconds) for i in range(a.vms)]
        samples.append({"start": "2026-01-01T00:00:00.000Z", "start_unix_ns": t0 + s * 10**10,
                        "duration_ns": int(seconds * 1e9), "vms": vms,
                        "stats": {k: 0 for k in STATS}, "interrupted": False,
                        "exit_status": 0})
    doc = {"format": "kvmcmo-record", "schema": 1,
           "tool": {"name": "kvmcmo", "version": "synthetic"},
           "host": {"hostname": "synthetic", "kernel_release": "synthetic",
                    "kernel_version": "", "machine": "aarch64"},
           "attach": {"requested": "auto", "probes": []},
           "target": {"mode": "command", "command": ["tests/bench/diff-gen.py"],
                      "seconds": None, "pid": None, "repeat": a.samples},
           "interval_ns": 1000000000, "start": "2026-01-01T00:00:00.000Z",
           "start_unix_ns": t0, "duration_ns": int(a.samples * 10e9),
           "vm_keys": sorted(v["key"] for v in samples[0]["vms"]), "samples": samples}
    with open(a.output, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
