#!/usr/bin/env python3
"""Every PromQL expression of the Grafana dashboard as a Prometheus HTTP API
path, for the guest to fetch with busybox wget (which cannot URL-encode).

    queries.py tools/grafana/kvmcmo.json > queries.txt

One line per query: "ID<TAB>METRIC_FAMILY<TAB>PATH".  Panels give
/api/v1/query paths; `label_values(M, L)` variables give
/api/v1/label/L/values?match[]=M paths.  Dashboard variables are replaced
by what "All" selects (.+) and $__rate_interval by 1m, and METRIC_FAMILY
is the first kvmcmo_ family the expression reads (the judge expects data
exactly when that family has series on the daemon's page).
"""
import json
import re
import sys
import urllib.parse

SUBST = {"$__rate_interval": "1m", "$instance": ".+", "$vm": ".+", "$kind": ".+"}


def subst(expr):
    for k, v in SUBST.items():
        expr = expr.replace(k, v)
    if "$" in expr:
        sys.exit(f"queries.py: unknown variable left in {expr!r}")
    return expr


def family(expr):
    m = re.search(r"\b(kvmcmo_[a-z_]+?)(_bucket|_sum|_count)?\b[{\[\s)]", expr)
    return m.group(1) if m else "-"


def main():
    dash = json.load(open(sys.argv[1]))
    for p in dash["panels"]:
        for t in p.get("targets", []):
            e = subst(t["expr"])
            print(f"panel{p['id']}{t['refId']}\t{family(e)}\t"
                  f"/api/v1/query?query={urllib.parse.quote(e, safe='')}")
    for v in dash["templating"]["list"]:
        if v.get("type") != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q)
        if not m:
            sys.exit(f"queries.py: variable {v['name']}: not label_values(): {q!r}")
        sel, label = subst(m.group(1)), m.group(2)
        print(f"var_{v['name']}\t{family(sel + ' ')}\t"
              f"/api/v1/label/{label}/values?{urllib.parse.quote('match[]')}={urllib.parse.quote(sel, safe='')}")


if __name__ == "__main__":
    main()
