#!/usr/bin/env python3
"""Tables for tests/bench/overhead.sh.

    overhead.py DIR

Reads DIR/meta.txt and every DIR/KERNEL-MODE-CLOCK/ boot (boot.rc, console.log,
out/), checks every probed run against the workload's ground truth, and
writes DIR/results.json (every run), DIR/results.tsv (one row per kernel,
mode and clock) and DIR/results.md (Markdown tables).  Exit 0 when every boot
finished (or found its mode unsupported) and every probed run counted
exactly the aborts the workload made.
"""
import json
import os
import re
import statistics
import sys

TARGET = {'fentry': 400, 'kprobe': 1500}   # added guest instructions per abort
KORDER = {'5.10': 0, '6.1': 1, '6.12': 2, '7.2': 3}
MORDER = {'fentry': 0, 'kprobe': 1}


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def abort_table(vm):
    t = {}
    for r in vm.get('aborts', []):
        k = '%s/%s/%s/%s' % (r['kind'], r['fault'], r['memslot'], r['outcome'])
        t[k] = t.get(k, 0) + r['count']
    return t


def check_probed(rdir, name, pages):
    """The probed run's stat JSON against the truth: exactly `pages`
    read/translation/rw/map_rw and 1 exec/translation/rw/map_rw for the
    bench VM, no overflow/lost-entry counters, stat exited 0."""
    res = {'ok': False, 'problems': []}
    truth = load_json(os.path.join(rdir, name + '.truth.json'))
    stat = load_json(os.path.join(rdir, name + '.stat.json'))
    res['stat_rc'] = read(os.path.join(rdir, name + '.stat.rc'))
    res['attach'] = read(os.path.join(rdir, name + '.attach'))
    if not truth or not stat:
        res['problems'].append('missing truth or stat JSON')
        return res, stat
    want = {'read/translation/rw/map_rw': pages, 'exec/translation/rw/map_rw': 1}
    tv = truth['vms'][0]
    if abort_table(tv) != want:
        res['problems'].append('workload truth is not the bench: %s' % abort_table(tv))
    if not tv['vmm'].get('match'):
        res['problems'].append('workload VMM did not match its own expectation')
    vm = [v for v in stat.get('vms', []) if v.get('pid') == tv['pid'] and v.get('fd') == tv['fd']]
    if len(vm) != 1:
        res['problems'].append('bench VM pid %s fd %s not in stat JSON' % (tv['pid'], tv['fd']))
    else:
        got = abort_table(vm[0])
        res['counted'] = got
        if got != want:
            res['problems'].append('counted %s, expected %s' % (got, want))
    others = [v for v in stat.get('vms', []) if not (v.get('pid') == tv['pid'] and v.get('fd') == tv['fd'])]
    if others:
        res['problems'].append('%d other VM(s) in stat JSON' % len(others))
    bad = {k: v for k, v in stat.get('stats', {}).items() if v}
    if bad:
        res['problems'].append('kvmcmo error counters: %s' % bad)
    if res['stat_rc'] != '0':
        res['problems'].append('kvmcmo stat exited %s' % res['stat_rc'])
    m = re.search(r'during=(\d+) (\d+) after=(\d+) (\d+)', res['attach'] or '')
    if m:
        res['attached_fentry'], res['attached_kprobe'] = int(m.group(1)), int(m.group(2))
        if int(m.group(1)) + int(m.group(2)) == 0:
            res['problems'].append('no probe seen in enabled_functions or kprobes/list while attached')
        if int(m.group(3)) + int(m.group(4)) != 0:
            res['problems'].append('probes still listed 10 s after stat exited')
    else:
        res['problems'].append('no attach record')
    res['ok'] = not res['problems']
    return res, stat


def analyze_boot(d):
    name = os.path.basename(d)
    kernel, mode, clock = name.rsplit('-', 2)
    b = {'kernel': kernel, 'mode': mode, 'clock': clock, 'dir': name}
    conf = dict(l.split('=', 1) for l in (read(os.path.join(d, 'bench.conf'), '') or '').splitlines() if '=' in l)
    pages = b['pages'] = int(conf.get('PAGES', 10000))
    b['command'] = read(os.path.join(d, 'cmd.txt'))
    loads = []
    for line in (read(os.path.join(d, 'host-load.txt'), '') or '').splitlines():
        m = re.match(r'\d+ qemu=(\d+) load=([0-9.]+)', line)
        if m:
            loads.append((int(m.group(1)), float(m.group(2))))
    if loads:
        # our own boot is one qemu
        b['host_other_qemu_max'] = max(q for q, _ in loads) - 1
        b['host_other_qemu_samples'] = sum(1 for q, _ in loads if q > 1)
        b['host_samples'] = len(loads)
        b['host_load_max'] = max(l for _, l in loads)
    rc = (read(os.path.join(d, 'boot.rc'), '') or '').split()
    b['boot_rc'] = int(rc[0]) if rc else None
    b['boot_wall_s'] = int(rc[1]) if len(rc) > 1 else None
    out = os.path.join(d, 'out')
    b['uname'] = read(os.path.join(out, 'uname'))
    b['bpf_jit_enable'] = read(os.path.join(out, 'bpf_jit_enable'))
    summary = read(os.path.join(d, 'boot.txt'), '').splitlines()
    b['boot_summary'] = summary[-1] if summary else None
    status = read(os.path.join(out, 'status'))
    runs = []
    tsv = read(os.path.join(out, 'runs.tsv'))
    if tsv is not None:
        for line in tsv.splitlines():
            n, kind, ns = line.split('\t')
            runs.append({'name': n, 'kind': kind, 'ns': int(ns)})
    else:
        # no files back (hang, crash): the runs the console saw
        for line in (read(os.path.join(d, 'console.log'), '') or '').splitlines():
            m = re.match(r'BENCH-RUN (\S+) (\S+) (-?\d+)', line.strip())
            if m:
                runs.append({'name': m.group(1), 'kind': m.group(2), 'ns': int(m.group(3))})
    prog = [l for l in (read(os.path.join(d, 'progress.txt'), '') or '').splitlines() if 'BENCH' in l]
    if prog:
        b['last_progress'] = prog[-1]
    b['stalled'] = os.path.exists(os.path.join(d, 'stalled'))
    killed = read(os.path.join(d, 'killed.txt'))
    if killed:
        b['killed_from_outside'] = killed.splitlines()
    if status == 'unsupported':
        b['status'] = 'unsupported'
        b['check'] = read(os.path.join(out, 'check.txt'))
        return b
    if b['boot_rc'] == 124:
        b['status'] = 'timeout'
    elif b['boot_rc'] != 0 or status != 'done':
        b['status'] = 'failed'
    else:
        b['status'] = 'done'
    rdir = os.path.join(out, 'runs')
    for r in runs:
        if r['kind'] in ('probed', 'stats') and os.path.isdir(rdir):
            r['check'], stat = check_probed(rdir, r['name'], pages)
            if r['kind'] == 'stats' and stat:
                r['programs'] = stat.get('programs', [])
    b['runs'] = runs
    b['warmup_runs'] = [r['ns'] for r in runs if r['kind'] == 'warmup']
    base = [r['ns'] for r in runs if r['kind'] == 'base' and r['ns'] > 0]
    prob = [r['ns'] for r in runs if r['kind'] == 'probed' and r['ns'] > 0]
    b['base_ns'], b['probed_ns'] = base, prob
    b['counts_ok'] = all(r.get('check', {}).get('ok') for r in runs if r['kind'] in ('probed', 'stats')) \
        and any(r['kind'] == 'probed' for r in runs)
    b['count_problems'] = sorted({p for r in runs for p in r.get('check', {}).get('problems', [])})
    att = [r['check'] for r in runs if 'check' in r and 'attached_fentry' in r['check']]
    if att:
        b['attached_as'] = sorted({('fentry' if a['attached_fentry'] else '') +
                                   ('+' if a['attached_fentry'] and a['attached_kprobe'] else '') +
                                   ('kprobe' if a['attached_kprobe'] else '') for a in att})
    if base and prob:
        mb, mp = statistics.median(base), statistics.median(prob)
        b['base_median_ns'], b['probed_median_ns'] = mb, mp
        pairs = []
        for r in runs:
            if r['kind'] == 'probed' and r['ns'] > 0:
                bn = [x for x in runs if x['name'] == 'b' + r['name'][1:] and x['ns'] > 0]
                if bn:
                    pairs.append((bn[0]['ns'], r['ns']))
        if clock == 'icount':
            b['base_instr_per_abort'] = mb / pages
            b['probed_instr_per_abort'] = mp / pages
            b['added_instr_per_abort'] = (mp - mb) / pages
            b['added_per_pair'] = [(p - q) / pages for q, p in pairs]
            b['base_spread_ns'] = max(base) - min(base)
            b['probed_spread_ns'] = max(prob) - min(prob)
            b['base_repeat_exact'] = len(set(base)) == 1
            b['probed_repeat_exact'] = len(set(prob)) == 1
            b['target'] = TARGET[mode]
            b['target_met'] = b['added_instr_per_abort'] <= TARGET[mode]
        else:
            ratios = [p / q for q, p in pairs]
            b['ratios'] = ratios
            b['median_ratio'] = statistics.median(ratios) if ratios else None
            b['ratio_of_medians'] = mp / mb
            b['base_spread'] = (max(base) - min(base)) / mb
            b['probed_spread'] = (max(prob) - min(prob)) / mp
    st = [r for r in runs if r['kind'] == 'stats']
    if st:
        b['stats_run_ns'] = st[0]['ns']
        b['programs'] = [dict(p, ns_per_run=(p['run_time_ns'] / p['run_cnt'] if p['run_cnt'] else None))
                         for p in st[0].get('programs', [])]
    return b


def rep(ns, pages):
    """'yes' when every run took the same guest time, else the spread."""
    if len(set(ns)) == 1:
        return 'yes'
    return 'no: spread %s ns = %s/abort' % (fmt(max(ns) - min(ns)), fmt((max(ns) - min(ns)) / pages, 2))


def fmt(x, nd=0):
    if x is None:
        return '-'
    return ('{:,.%df}' % nd).format(x)


def main():
    out = sys.argv[1]
    meta = {}
    for line in (read(os.path.join(out, 'meta.txt'), '') or '').splitlines():
        k, _, v = line.partition('=')
        meta[k] = v
    boots = []
    for n in sorted(os.listdir(out)):
        d = os.path.join(out, n)
        if os.path.isdir(d) and re.match(r'^[0-9.]+-(fentry|kprobe)-(icount|wall)$', n):
            boots.append(analyze_boot(d))
    boots.sort(key=lambda b: (b['clock'] != 'icount', KORDER.get(b['kernel'], 9), MORDER.get(b['mode'], 9)))
    ok = all(b['status'] == 'unsupported' or (b['status'] == 'done' and b['counts_ok']) for b in boots)
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump({'meta': meta, 'boots': boots, 'ok': ok}, f, indent=1)

    cols = ['kernel', 'version', 'mode', 'clock', 'status', 'attached_as', 'warmup_runs', 'base_median_ns',
            'probed_median_ns', 'base_instr_per_abort', 'probed_instr_per_abort', 'added_instr_per_abort',
            'base_repeat_exact', 'probed_repeat_exact', 'target', 'target_met', 'median_ratio',
            'ratio_of_medians', 'counts_ok', 'base_ns', 'probed_ns']
    with open(os.path.join(out, 'results.tsv'), 'w') as f:
        f.write('\t'.join(cols) + '\n')
        for b in boots:
            row = dict(b, version=b.get('uname'), attached_as='+'.join(b.get('attached_as', [])),
                       warmup_runs=','.join(map(str, b.get('warmup_runs', []))),
                       base_ns=','.join(map(str, b.get('base_ns', []))),
                       probed_ns=','.join(map(str, b.get('probed_ns', []))))
            f.write('\t'.join('' if row.get(c) is None else str(row.get(c)) for c in cols) + '\n')

    pages = boots[0]['pages'] if boots else 0
    md = []
    for clock in ('icount', 'wall'):
        cmds = sorted({b['command'] for b in boots if b['clock'] == clock and b.get('command')})
        if cmds:
            md.append('%s boots from: %s\n' % (clock, ', '.join('`%s`' % c for c in cmds)))
    md.append('Guest instructions per abort (`-icount shift=0,sleep=off`, 1 vCPU; %d read aborts per run; '
              'medians of the rounds after warm-up):\n' % pages)
    md.append('| kernel | mode | warm-up runs | baseline /abort | probed /abort | **added /abort** | target | met | '
              'repeated exactly (base / probed) | counts exact |')
    md.append('|---|---|---|---|---|---|---|---|---|---|')
    for b in boots:
        if b['clock'] != 'icount':
            continue
        if b['status'] == 'unsupported':
            md.append('| %s | %s | unsupported: `kvmcmo check --attach %s` failed | | | | | | | |'
                      % (b.get('uname') or b['kernel'], b['mode'], b['mode']))
            continue
        if 'added_instr_per_abort' not in b:
            md.append('| %s | %s | %s (boot rc %s) | | | | | | | |' % (b.get('uname') or b['kernel'], b['mode'],
                                                                 b['status'], b['boot_rc']))
            continue
        rng = b['added_per_pair']
        md.append('| %s | %s | %d | %s | %s | **+%s**%s | %s | %s | %s / %s | %s |' % (
            b.get('uname') or b['kernel'], b['mode'], len(b['warmup_runs']),
            fmt(b['base_instr_per_abort'], 1), fmt(b['probed_instr_per_abort'], 1),
            fmt(b['added_instr_per_abort'], 1),
            '' if min(rng) == max(rng) else ' (pairs %s to %s)' % (fmt(min(rng), 1), fmt(max(rng), 1)),
            fmt(b['target']), 'yes' if b['target_met'] else '**no**',
            rep(b['base_ns'], pages), rep(b['probed_ns'], pages),
            'yes' if b['counts_ok'] else 'NO: ' + '; '.join(b['count_problems'])))
    md.append('')
    md.append('Wall time (no icount, 1 vCPU, TCG; vmm.ns of the bench VM, medians; ratio = median of '
              'probed/baseline over the rounds):\n')
    md.append('| kernel | mode | warm-up runs | baseline ms | probed ms | median ratio | ratio range | '
              'baseline spread | other qemu on host | counts exact |')
    md.append('|---|---|---|---|---|---|---|---|---|---|')
    for b in boots:
        if b['clock'] != 'wall':
            continue
        if b['status'] == 'unsupported' or 'median_ratio' not in b:
            md.append('| %s | %s | %s | | | | | | | |' % (b.get('uname') or b['kernel'], b['mode'], b['status']))
            continue
        md.append('| %s | %s | %d | %s | %s | %s | %s to %s | %s%% | %s | %s |' % (
            b.get('uname') or b['kernel'], b['mode'], len(b['warmup_runs']),
            fmt(b['base_median_ns'] / 1e6, 1), fmt(b['probed_median_ns'] / 1e6, 1),
            fmt(b['median_ratio'], 2), fmt(min(b['ratios']), 2), fmt(max(b['ratios']), 2),
            fmt(100 * b['base_spread'], 0),
            'none' if not b.get('host_other_qemu_max') else 'up to %d (%d of %d samples)' % (
                b['host_other_qemu_max'], b['host_other_qemu_samples'], b['host_samples']),
            'yes' if b['counts_ok'] else 'NO: ' + '; '.join(b['count_problems'])))
    md.append('')
    md.append('BPF programs (`kernel.bpf_stats_enabled=1`, one extra probed run; under icount 1 ns = 1 guest '
              'instruction; programs that never ran are left out):\n')
    md.append('| kernel | mode | clock | program | run_cnt | run_time_ns | ns per run |')
    md.append('|---|---|---|---|---|---|---|')
    for b in boots:
        for p in b.get('programs', []):
            if p['run_cnt']:
                md.append('| %s | %s | %s | %s | %s | %s | %s |' % (
                    b['kernel'], b['mode'], b['clock'], p['name'], fmt(p['run_cnt']),
                    fmt(p['run_time_ns']), fmt(p['ns_per_run'], 0)))
    md.append('')
    with open(os.path.join(out, 'results.md'), 'w') as f:
        f.write('\n'.join(md))
    print('\n'.join(md))
    for b in boots:
        if b['status'] not in ('done', 'unsupported') or (b['status'] == 'done' and not b['counts_ok']):
            print('PROBLEM: %s %s %s: status %s%s, boot rc %s %s; last: %s' % (
                b['kernel'], b['mode'], b['clock'], b['status'], ' (console stalled)' if b['stalled'] else '',
                b['boot_rc'], '; '.join(b.get('count_problems', [])), b.get('last_progress')), file=sys.stderr)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
