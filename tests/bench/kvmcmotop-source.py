#!/usr/bin/env python3
"""A synthetic kvmcmod for kvmcmotop's benchmarks on any host: serves
/api/v1/snapshot (the document kvmcmod serves: `kvmcmo stat --json` with
histogram buckets, vCPUs, regions, and "daemon": {"polls"}) for N VMs whose
counters grow, poll after poll, as on a busy arm64 KVM host.

    kvmcmotop-source.py [--vms 200] [--port 0] [--poll 0.5] [--churn 50]
                        [--dump FILE [--at POLLS]]

Prints "listening on http://127.0.0.1:PORT" once it serves; /requests
answers how many snapshots it served (a client's refreshes).  --dump writes
one document (polls = --at) to FILE and exits: the input of bench.c.

The numbers are made up (a fixed seed, so every run serves the same
sequence), not measured: this is load for the tool, never a test of its
counts (those are checked against the workload's ground truth in
tests/vm/suite-kvmcmotop.sh).  Unlike the emulated test host, the VMs take
CMO aborts too (real hardware does).  Each VM has 1 to 8 vCPUs, 6 to 30
rows of the kind x fault x memslot x outcome table, handler-time
histograms over 6 to 10 log2 buckets, double faults and regions; every
--churn polls a VM is replaced by a new one (new id, new name), so rows
come and go as they do when VMs are started and stopped.
"""
import argparse
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KINDS = ["cmo", "s1ptw", "write", "read", "exec"]
FAULTS = ["translation", "permission", "access_flag", "other"]
MEMSLOTS = ["none", "ro", "rw_dirty_log", "rw"]
OUTCOMES = ["mmio_user", "nisv", "mmio_kernel", "inject_dabt", "map_rw", "map_ro", "relax",
            "access_flag", "skip", "error", "other"]


class Vm:
    """One VM slot's shape: what it counts per poll of its life."""

    def __init__(self, rng, slot):
        self.slot = slot
        self.pid = 2000 + slot
        self.nvcpus = rng.randint(1, 8)
        self.rows = {}
        for _ in range(rng.randint(6, 30)):
            key = (rng.choice(KINDS), rng.choice(FAULTS), rng.choice(MEMSLOTS),
                   rng.choice(OUTCOMES))
            self.rows[key] = rng.randint(1, 400)
        self.lat = {}
        for o in {k[3] for k in self.rows}:
            lo = rng.randint(9, 12)
            self.lat[o] = {lo + i: rng.randint(1, 50) for i in range(rng.randint(6, 10))}
        self.dfaults = [(k, m, rng.randint(1, 20)) for k in ("cmo", "s1ptw")
                        for m in MEMSLOTS if rng.random() < 0.2]
        self.regions = [(0x40000000 + i * 0x200000, 0x200000, i, rng.choice(KINDS),
                         rng.choice(OUTCOMES), rng.randint(1, 100)) for i in range(rng.randint(2, 8))]
        self.phase = rng.randint(0, 1 << 20)

    def doc(self, polls, churn):
        # a new VM every `churn` polls (phase staggers the slots)
        t = polls + self.phase
        gen, age = divmod(t, churn) if churn else (0, polls)
        age += 1
        n = sum(self.rows.values()) * age
        rows = [{"kind": k, "fault": f, "memslot": m, "outcome": o, "count": c * age}
                for (k, f, m, o), c in sorted(self.rows.items())]
        lat = {}
        for o, b in self.lat.items():
            buckets = [{"le": 2 << s, "count": c * age} for s, c in sorted(b.items())]
            lat[o] = {"count": sum(x["count"] for x in buckets),
                      "sum": sum(x["count"] * (1 << s) for s, x in zip(sorted(b), buckets)),
                      "buckets": buckets}
        per = n // self.nvcpus
        cmo = sum(c for (k, _, _, _), c in self.rows.items() if k == "cmo") * age
        return {
            "id": (self.slot << 32) | gen, "pid": self.pid, "fd": 10 + gen % 1000,
            "name": f"vm{self.slot:03d}-{gen % 100000}", "alive": True,
            "aborts": rows,
            "dabt_injections": {"abort": age, "userspace": 0},
            "double_faults": [{"kind": k, "memslot": m, "count": c * age,
                               "gap_ns": {"count": c * age, "sum": c * age * 40000,
                                          "buckets": [{"le": 65536, "count": c * age}]}}
                              for k, m, c in self.dfaults],
            "latency_ns": lat,
            "vcpus": [{"vcpu": i, "aborts": per, "cmo": cmo // self.nvcpus}
                      for i in range(self.nvcpus)],
            "regions": [{"region": f"slot{s}", "slot": s, "base": b, "size": z, "kind": k,
                         "outcome": o, "count": c * age} for b, z, s, k, o, c in self.regions],
        }


def document(vms, polls, churn):
    return {"vms": [v.doc(polls, churn) for v in vms],
            "stats": {"map_full": 0, "no_entry": 0, "entry_busy": 0, "vm_overflow": 0},
            "programs": [],
            "daemon": {"version": "synthetic", "polls": polls, "poll_errors": 0,
                       "vms_dropped": 0}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vms", type=int, default=200)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--poll", type=float, default=0.5, help="seconds per poll")
    ap.add_argument("--churn", type=int, default=50, help="polls a VM lives (0: forever)")
    ap.add_argument("--dump")
    ap.add_argument("--at", type=int, default=100)
    a = ap.parse_args()
    rng = random.Random(4)
    vms = [Vm(rng, i) for i in range(a.vms)]
    if a.dump:
        with open(a.dump, "w") as f:
            json.dump(document(vms, a.at, a.churn), f)
        return 0

    t0 = time.monotonic()
    cache = {}
    served = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/requests":
                body = f"{served[0]}\n".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path != "/api/v1/snapshot":
                self.send_error(404)
                return
            served[0] += 1
            polls = int((time.monotonic() - t0) / a.poll)
            with lock:
                body = cache.get(polls)
                if body is None:
                    body = json.dumps(document(vms, polls, a.churn)).encode()
                    cache.clear()
                    cache[polls] = body
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
