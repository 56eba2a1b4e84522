#!/usr/bin/env bash
# How often `kvmcmo diff` flags identical workloads (false positives) and
# how often it finds an injected change (power), on synthetic recordings with
# real Poisson noise (tests/bench/diff-gen.py): PAIRS pairs of independent
# recordings of one 200-VM workload profile, 3 samples each; then the same
# with 10% of the VMs changed (their nisv outcome becomes error); then
# timing: 10 pairs of 50-VM recordings of 10 samples, identical, and with
# 20% of the VMs' aborts taking twice as long.
#
#   tests/bench/diff-calibrate.sh [PAIRS (30)] [VMS (200)]
set -eu
cd "$(dirname "$0")/../.."
pairs=${1:-30} vms=${2:-200}
make -s .output/x86/kvmcmo >&2
out=.output/bench/calibrate
mkdir -p "$out"
gen() { [ -s "$out/$1.json" ] || tests/bench/diff-gen.py --vms "$vms" --samples 3 "${@:2}" -o "$out/$1.json"; }
for i in $(seq $((2 * pairs))); do gen "s$i" --seed "$i"; done
for i in $(seq "$pairs"); do gen "c$i" --seed $((1000 + i)) --change nisv-to-error:0.1; done
gen10() { [ -s "$out/$1.json" ] || tests/bench/diff-gen.py --vms 50 --samples 10 "${@:2}" -o "$out/$1.json"; }
for i in $(seq 20); do gen10 "t$i" --seed $((2000 + i)); done
for i in $(seq 10); do gen10 "x$i" --seed $((3000 + i)) --change latency-x2:0.2; done
python3 - "$out" "$pairs" <<'PY'
import json, subprocess, sys
out, pairs = sys.argv[1], int(sys.argv[2])
def diff(a, b):
    r = subprocess.run([".output/x86/kvmcmo", "diff", "--json", a, b], capture_output=True, text=True)
    return r.returncode, json.loads(r.stdout)
flagged_pairs, rows, ps = 0, 0, {"aborts": [], "latency_ns": []}
for i in range(1, pairs + 1):
    rc, d = diff("%s/s%d.json" % (out, 2 * i - 1), "%s/s%d.json" % (out, 2 * i))
    flagged_pairs += rc != 0
    rows += d["rows"]
    for v in d["vms"]:
        for r in v["rows"]:
            if r["metric"] in ps and r["p"] is not None:
                ps[r["metric"]].append(r["p"])
print("identical workloads: %d pairs, %d rows each on average, %d pairs with any flag (exit 1)"
      % (pairs, rows // pairs, flagged_pairs))
for m, v in ps.items():
    print("  %s: %d tests, share with p < 0.05: %.3f, < 0.01: %.4f, < 0.001: %.4f" % (
        m, len(v), sum(p < .05 for p in v) / len(v), sum(p < .01 for p in v) / len(v),
        sum(p < .001 for p in v) / len(v)))
found, wrong, bins = 0, 0, {}
def nisv_per_sample(f):
    doc, out = json.load(open(f)), {}
    for smp in doc["samples"]:
        for v in smp["vms"]:
            n = sum(a["count"] for a in v["aborts"] if a["outcome"] == "nisv")
            out[v["key"]] = out.get(v["key"], 0) + n / len(doc["samples"])
    return out
for i in range(1, pairs + 1):
    rc, d = diff("%s/s%d.json" % (out, i), "%s/c%d.json" % (out, i))
    # the changed VMs: nisv rows in the base recording, none in the new one
    b, n = nisv_per_sample("%s/s%d.json" % (out, i)), nisv_per_sample("%s/c%d.json" % (out, i))
    moved = {k: c for k, c in b.items() if c > 0 and n.get(k, 0) == 0}
    for v in d["vms"]:
        hit = any(r["changed"] for r in v["rows"])
        if v["key"] in moved:
            c = moved[v["key"]]
            key = "< 5" if c < 5 else "5 to 50" if c < 50 else ">= 50"
            t = bins.setdefault(key, [0, 0])
            t[0] += hit
            t[1] += 1
        elif hit:
            wrong += 1
print("injected change (10% of VMs: nisv -> error), changed VMs flagged, by nisv aborts per run:")
for key in ("< 5", "5 to 50", ">= 50"):
    if key in bins:
        print("  %-8s %d of %d" % (key, bins[key][0], bins[key][1]))
print("  unchanged VMs flagged: %d" % wrong)
fp = found = wrong = 0
for i in range(1, 11):
    rc, d = diff("%s/t%d.json" % (out, 2 * i - 1), "%s/t%d.json" % (out, 2 * i))
    fp += d["changed_rows"]
    rc, d = diff("%s/t%d.json" % (out, 2 * i - 1), "%s/x%d.json" % (out, i))
    for v in d["vms"]:
        hit = any(r["changed"] for r in v["rows"] if r["metric"] == "latency_ns")
        # diff-gen changes the first 20% of the VMs: vm0000..vm0009 (vm0000 is multi#1)
        moved = v["key"] == "multi#1" or int(v["key"][2:] or 0) < 10 if v["key"].startswith("vm") \
            else v["key"] == "multi#1"
        found += hit and moved
        wrong += hit and not moved
print("timing, 10 samples a side, 50 VMs: identical pairs: %d rows flagged in 10 pairs; "
      "aborts twice as long in 10 of 50 VMs: %d of 100 changed VMs flagged, %d others"
      % (fp, found, wrong))
PY
