#!/usr/bin/env python3
"""Check the workload's truth against an ftrace record of what KVM did.

    trace-check.py OUTDIR

OUTDIR holds, per case, CASE.json (the truth from `kvmcmo selftest
--workload-only --truth`) and CASE.trace (tests/vm/workload/trace-run.sh).
Per VM (trace lines carry the VMM's pid; several VMs of one process are
told apart by order, as the workload runs them one after another), it
compares:
  - aborts: the truth's counts against kvm_guest_fault lines, per
    (kind, fault) decoded from the ESR and memslot from the IPA;
  - outcomes: map_rw/map_ro against kvm_pgtable_stage2_map calls split by
    the W bit of prot, relax against kvm_pgtable_stage2_relax_perms, the
    mmio_user+nisv+error total against io_mem_abort, inject_dabt against
    kvm_inject_dabt/kvm_inject_sea calls from an abort, access_flag
    against mkyoung.
Prints one line per case and 'N passed, N failed'; exit 1 on any failure.
"""
import collections, json, os, re, sys

def kind_fault(esr):
    ec = (esr >> 26) & 0x3f
    dabt = ec in (0x24, 0x25)
    if dabt and esr & (1 << 8):
        kind = 'cmo'
    elif esr & (1 << 7):
        kind = 's1ptw'
    elif dabt:
        kind = 'write' if esr & (1 << 6) else 'read'
    else:
        kind = 'exec'
    fsc, t = esr & 0x3f, esr & 0x3c
    fault = ('translation' if t == 0x04 or fsc == 0x2b else
             'permission' if t == 0x0c else
             'access_flag' if t == 0x08 else 'other')
    return kind, fault

# the workload's memory map (tools/kvmcmo/workload.h); bench is not run here
SLOTS = [(0x40000000, 64 << 10, 'rw'), (0x41000000, 1 << 20, 'rw'),
         (0x42000000, 1 << 20, 'rw_dirty_log'), (0x43000000, 1 << 20, 'ro')]

def memslot(ipa):
    for base, size, name in SLOTS:
        if base <= ipa < base + size:
            return name
    return 'none'

LINE = re.compile(r'^\s*(.*)-(\d+)\s+\[\d+\].*?\s\d+\.\d+:\s(\S+):\s(.*)$')

def parse(path, wbit):
    """per pid: list of events in order"""
    ev = collections.defaultdict(list)
    for line in open(path, errors='replace'):
        if line.startswith('#'):
            continue
        m = LINE.match(line)
        if not m:
            continue
        pid, name, rest = int(m.group(2)), m.group(3), m.group(4)
        if name == 'kvm_guest_fault':
            e = re.search(r'(?:esr|hsr)\s*[:=]?\s*(0x[0-9a-f]+|[0-9]+)', rest)
            i = re.search(r'ipa\s*[:=]?\s*(0x[0-9a-f]+|[0-9]+)', rest)
            ev[pid].append(('fault', kind_fault(int(e.group(1), 0)) +
                            (memslot(int(i.group(1), 0)),)))
        elif name == 's2map':
            prot = int(re.search(r'prot=(0x[0-9a-f]+)', rest).group(1), 16)
            ev[pid].append(('map_rw' if prot & wbit else 'map_ro', None))
        elif name in ('relax', 'mkyoung', 'iomem', 'injdabt', 'injsea'):
            if name == 'injsea' and re.search(r'iabt=0x1\b', rest):
                continue
            ev[pid].append((name, None))
    return ev

def main():
    out = sys.argv[1]
    rel = open(os.path.join(out, 'uname')).read().strip()
    major = tuple(int(x) for x in re.match(r'(\d+)\.(\d+)', rel).groups())
    wbit = 4 if major >= (7, 0) else 2      # KVM_PGTABLE_PROT_W moved in 7.x
    passed = failed = 0
    for f in sorted(os.listdir(out)):
        if not f.endswith('.json'):
            continue
        case = f[:-5]
        truth = json.load(open(os.path.join(out, f)))
        ev = parse(os.path.join(out, case + '.trace'), wbit)
        problems = []
        if truth.get('errors'):
            problems.append('workload errors: %s' % truth['errors'])
        pids = collections.OrderedDict()
        for vm in truth['vms']:
            pids.setdefault(vm['pid'], []).append(vm)
        for pid, vms in pids.items():
            want = collections.Counter()
            for vm in vms:
                for a in vm['aborts']:
                    want[('fault', (a['kind'], a['fault'], a['memslot']))] += a['count']
                    o = a['outcome']
                    o = {'relax': 'relax', 'mmio_user': 'iomem', 'nisv': 'iomem',
                         'error': 'iomem', 'access_flag': 'mkyoung',
                         'inject_dabt': 'inj'}.get(o, o)
                    if o in ('map_rw', 'map_ro', 'relax', 'iomem', 'mkyoung', 'inj'):
                        want[(o, None)] += a['count']
                want[('inj', None)] += vm['dabt_injections']['userspace']
            got = collections.Counter()
            for k, v in ev.get(pid, []):
                got[('inj', None) if k in ('injdabt', 'injsea') else (k, v)] += 1
            for k in sorted(set(want) | set(got), key=str):
                if want[k] != got[k]:
                    problems.append('pid %d %s%s: truth %d, trace %d' % (
                        pid, k[0], '' if k[1] is None else ' ' + '/'.join(k[1]),
                        want[k], got[k]))
        if problems:
            failed += 1
            print('FAIL %s' % case)
            for p in problems:
                print('    ' + p)
        else:
            passed += 1
            print('ok %s' % case)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0

sys.exit(main())
