#!/usr/bin/env python3
"""Judge one real-VMM run (tests/vm/realvmm/guest.sh's /out): kvmcmo's
per-region counts against QEMU's own trace of the same UEFI boot.

    tests/vm/realvmm/judge.py OUTDIR LABEL [--table FILE]

Prints one line per check ("ok ..." / "FAIL ...") and, last,
"realvmm LABEL: N passed, N failed".  --table writes the run's region
table (for docs/uefi-boot.md).

What reaches pflash, and how the counts relate
----------------------------------------------
QEMU's virt board has two CFI01 flash banks of 64 MiB: virt.flash0 (AAVMF
code, opened read-only) at IPA 0 and virt.flash1 (the variable store) at
64 MiB.  Each is a ROM device.  In "ROM mode" (romd, the flash reads as
array data) QEMU registers the bank with KVM as a READ-ONLY memslot, so
  - guest reads (and instruction fetches) fault once per stage-2 mapping
    and KVM maps the page read-only (kvmcmo: memslot ro, outcome map_ro);
    after that they never leave the guest, and QEMU never sees them;
  - guest writes cannot be mapped: KVM exits to QEMU as MMIO (kvmcmo:
    memslot ro, outcome mmio_user, region slotN).
The first write of any command cycle takes the bank out of ROM mode
(pflash_write, wcycle 0: memory_region_rom_device_set_romd(false)): QEMU
deletes the memslot (kvm_set_user_memory size=0), and until the firmware
writes READ ARRAY (0xff) every read and write to the bank is an MMIO exit
outside any memslot (kvmcmo: memslot none, outcome mmio_user, region the
64 KiB window).  Back in ROM mode QEMU adds the memslot again, with fresh,
empty stage-2 mappings, so the next reads fault (map_ro) again.

Every MMIO exit to the bank is one call of the bank's MemoryRegionOps, and
every such call is exactly one pflash_io_read / pflash_io_write trace event
-- except that pflash_cfi01's ops declare no access sizes, so the memory
core's default applies (impl.max_access_size 4): an 8-byte guest access is
split into two 4-byte calls at offsets o and o+4, two trace events for one
exit.  So, per bank and direction:

    pflash_io events = sum over MMIO exits of ceil(len / 4)
                     = kvmcmo's mmio_user aborts + (8-byte exits)

The exit sizes come from the kernel's kvm:kvm_mmio tracepoint (len and
IPA of every exit, captured for the flash window), because kvmcmo's region
rows carry no access size.  The judge does not only compare totals: it
replays the run.  It walks the exits in order, consumes for each the
ceil(len/4) trace events it must have produced (same bank, direction and
address), and tracks the memslots from QEMU's kvm_set_user_memory events,
so it knows for each exit whether the bank was a memslot (which id, base,
size) or MMIO space at that moment -- that predicts kvmcmo's flash rows
(slot or 64 KiB window, kind, mmio_user) one by one, and they must be equal.
All aborts in the flash window (any outcome, map_ro included) are also
checked against the kernel's kvm:kvm_guest_fault tracepoint, by kind.

One vCPU: exits, trace events and memslot changes are then one ordered
stream (the bank's mode and the exits that see it).
"""
import collections
import gzip
import json
import re
import sys

KVM_MEM_READONLY = 2
# hw/arm/virt.c: VIRT_FLASH = { 0, 0x08000000 }, two banks of half of it
BANKS = {'virt.flash0': 0x0, 'virt.flash1': 0x04000000}
BANK_SIZE = 0x04000000
FLASH_END = 0x08000000
WINDOW = 1 << 16        # bpf/kvmcmo.h KVMCMO_REGION_SHIFT
SPLIT = 4               # pflash_cfi01 ops: memory core default max access size
TEXT_ROWS = 20          # tools/kvmcmo/stat.c STAT_REGION_ROWS


class Judge:
    def __init__(self, label):
        self.label, self.passed, self.failed = label, 0, 0

    def check(self, name, ok, detail=''):
        if ok:
            self.passed += 1
            print('ok   %s%s' % (name, (': ' + detail) if detail else ''))
        else:
            self.failed += 1
            print('FAIL %s%s' % (name, (': ' + detail) if detail else ''))
        return ok


def read(path, gz=False):
    try:
        if gz:
            with gzip.open(path, 'rt', errors='replace') as f:
                return f.read()
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return None


def bank_of(ipa):
    for name, base in BANKS.items():
        if base <= ipa < base + BANK_SIZE:
            return name
    return None


# ESR_ELx -> kvmcmo kind, the same order as bpf/kvmcmo.h kvmcmo_classify_kind()
def esr_kind(esr):
    ec = (esr >> 26) & 0x3f
    dabt = ec in (0x24, 0x25)
    if dabt and esr & (1 << 8):
        return 'cmo'
    if esr & (1 << 7):
        return 's1ptw'
    if dabt:
        return 'write' if esr & (1 << 6) else 'read'
    return 'exec'


def parse_qemu_trace(text):
    """QEMU's log, in order: memslot changes and pflash accesses."""
    ev = []
    re_mem = re.compile(r'kvm_set_user_memory Slot#(\d+) flags=(0x[0-9a-f]+) gpa=(0x[0-9a-f]+) '
                        r'size=(0x[0-9a-f]+) .*ret=(-?\d+)')
    re_io = re.compile(r'pflash_io_(read|write) (virt\.flash\d): offset:(0x[0-9a-f]+) size:(\d+)')
    for line in text.splitlines():
        m = re_mem.search(line)
        if m:
            ev.append(('mem', int(m.group(1)), int(m.group(2), 16), int(m.group(3), 16),
                       int(m.group(4), 16), int(m.group(5))))
            continue
        m = re_io.search(line)
        if m:
            ev.append(('io', m.group(1), m.group(2), int(m.group(3), 16), int(m.group(4))))
    return ev


def parse_kernel_trace(text):
    """kvm:kvm_mmio exits (write, unsatisfied-read) and kvm:kvm_guest_fault, in order."""
    mmio, faults = [], []
    re_mmio = re.compile(r'kvm_mmio: mmio (write|unsatisfied-read|read) len (\d+) gpa (0x[0-9a-f]+)')
    re_fault = re.compile(r'kvm_guest_fault: ipa (0x[0-9a-f]+), hsr (0x[0-9a-f]+)')
    for line in text.splitlines():
        m = re_mmio.search(line)
        if m:
            if m.group(1) != 'read':        # 'read' is the completion of an unsatisfied read
                mmio.append(('write' if m.group(1) == 'write' else 'read',
                             int(m.group(2)), int(m.group(3), 16)))
            continue
        m = re_fault.search(line)
        if m:
            faults.append((int(m.group(1), 16), int(m.group(2), 16)))
    return mmio, faults


def parse_text_regions(text):
    """The region table of `kvmcmo stat` (tables), and its '(N more ...)' line."""
    rows, more = [], None
    re_row = re.compile(r'^  (slot\d+|0x[0-9a-f]+)\s+(0x[0-9a-f]+)-(0x[0-9a-f]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)$')
    re_more = re.compile(r'^  \((\d+) more region rows: (\d+) aborts')
    for line in text.splitlines():
        m = re_row.match(line)
        if m:
            rows.append({'region': m.group(1), 'base': int(m.group(2), 16),
                         'size': int(m.group(3), 16) - int(m.group(2), 16) + 1,
                         'memslot': m.group(4), 'kind': m.group(5), 'outcome': m.group(6),
                         'count': int(m.group(7))})
            continue
        m = re_more.match(line)
        if m:
            more = (int(m.group(1)), int(m.group(2)))
    return rows, more


def main():
    args = sys.argv[1:]
    table_out = None
    if '--table' in args:
        i = args.index('--table')
        table_out = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit('usage: judge.py OUTDIR LABEL [--table FILE]')
    out, label = args
    J = Judge(label)

    def fail_rest(why):
        J.check('run', False, why)
        print('realvmm %s: %d passed, %d failed' % (label, J.passed, J.failed))
        sys.exit(1)

    # ---- the run itself ------------------------------------------------
    J.check('kernel', True, (read(out + '/uname') or '?').strip() + '; ' +
            ' '.join(l for l in (read(out + '/PACKAGES') or '').split()
                     if l.startswith(('qemu-system-arm:', 'qemu-efi-aarch64:'))))
    console = read(out + '/console.txt') or ''
    J.check('AAVMF reached the UEFI shell', 'Shell>' in console)
    # QEMU stops its vCPUs between exits (an exit in flight is completed and
    # traced first) whether the guest powers off or QEMU gets SIGTERM
    how = 'SIGTERM' if (read(out + '/qemu.end') or '').strip() == 'sigterm' else '`reset -s` in the shell'
    J.check('QEMU exited cleanly (exit 0)', (read(out + '/qemu.rc') or '').strip() == '0',
            'after %s; rc %s %s' % (how, (read(out + '/qemu.rc') or '?').strip(),
                                    (read(out + '/qemu.err') or '').strip()[:200]))
    J.check('kvmcmo stat --json exited 0', (read(out + '/stat.rc') or '').strip() == '0')
    J.check('kvmcmo stat (tables) exited 0', (read(out + '/stat-txt.rc') or '').strip() == '0')
    try:
        stat = json.loads((read(out + '/stat.json') or '').strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        fail_rest('stat.json is not JSON: %s' % e)
    qtext = read(out + '/qemu-trace.gz', gz=True)
    ktext = read(out + '/kvm-trace.gz', gz=True)
    if qtext is None or ktext is None:
        fail_rest('qemu-trace.gz or kvm-trace.gz missing')

    progs = [p.get('name', '') for p in stat.get('programs', [])]
    # every abort is seen through tracepoints; the mode shows in the
    # probes of the rarer paths (io_mem_abort: the flash MMIO)
    mode = ('fentry' if 'io_mem_abort_fentry' in progs else
            'kprobe' if 'io_mem_abort_kprobe' in progs else None)
    J.check('attach mode', mode is not None, '%s (%s)' % (mode, ', '.join(progs)))
    vms = stat.get('vms', [])
    J.check('exactly one VM, named uefi', len(vms) == 1 and vms[0].get('name') == 'uefi',
            ', '.join('%s (pid %s)' % (v.get('name'), v.get('pid')) for v in vms))
    if not vms:
        fail_rest('no VM in stat.json')
    vm = vms[0]
    J.check('kvmcmo lost nothing', not any(stat.get('stats', {}).values()), json.dumps(stat.get('stats')))
    tstats = read(out + '/trace-stats') or ''
    lost = [int(x) for x in re.findall(r'(?:overrun|dropped events): (\d+)', tstats)]
    J.check('the kernel trace lost nothing', bool(lost) and not any(lost), 'overrun/dropped %s' % lost)

    regions = vm.get('regions', [])
    aborts = vm.get('aborts', [])
    total = sum(a['count'] for a in aborts)
    J.check('region rows sum to the abort total', sum(r['count'] for r in regions) == total,
            '%d in regions, %d in aborts' % (sum(r['count'] for r in regions), total))

    # ---- QEMU's trace: memslots over time, pflash accesses --------------
    qev = parse_qemu_trace(qtext)
    mmio, faults = parse_kernel_trace(ktext)
    ios = [e for e in qev if e[0] == 'io']
    mems = [e for e in qev if e[0] == 'mem']
    J.check('QEMU traced pflash accesses and memslot changes', ios and mems,
            '%d pflash_io events, %d kvm_set_user_memory' % (len(ios), len(mems)))
    J.check('every kvm_set_user_memory succeeded', all(e[5] == 0 for e in mems))
    ro_adds = sorted({(e[3], e[4]) for e in mems if e[4] and e[2] & KVM_MEM_READONLY})
    J.check('QEMU registers both banks as read-only memslots',
            ro_adds == sorted((b, BANK_SIZE) for b in BANKS.values()),
            ', '.join('0x%x+0x%x' % a for a in ro_adds))

    # replay: exits in order, each consuming the pflash events it caused
    slots = {}                  # id -> (gpa, size, flags), as QEMU set them
    predicted = collections.Counter()
    per = collections.Counter()         # (bank, dir, 'exits'|'events'|'split')
    qi, ok_seq, why = 0, True, ''

    def advance_mem():
        nonlocal qi
        while qi < len(qev) and qev[qi][0] == 'mem':
            _, sid, flags, gpa, size, _ = qev[qi]
            if size:
                slots[sid] = (gpa, size, flags)
            else:
                slots.pop(sid, None)
            qi += 1

    for n, (d, ln, gpa) in enumerate(mmio):
        advance_mem()
        bank = bank_of(gpa)
        if bank is None:
            ok_seq, why = False, 'exit %d at 0x%x is outside the banks' % (n, gpa)
            break
        # where the exit happened: the memslot covering gpa now, or a window
        slot = next(((sid, s) for sid, s in slots.items() if s[0] <= gpa < s[0] + s[1]), None)
        if slot:
            predicted[('slot%d' % slot[0], slot[1][0], slot[1][1], d)] += 1
        else:
            predicted[('0x%08x' % (gpa & ~(WINDOW - 1)), gpa & ~(WINDOW - 1), WINDOW, d)] += 1
        pieces = max(1, -(-ln // SPLIT))
        per[(bank, d, 'exits')] += 1
        per[(bank, d, 'split')] += pieces - 1
        for p in range(pieces):
            advance_mem()
            want = (d, bank, gpa - BANKS[bank] + p * SPLIT, min(ln, SPLIT))
            got = qev[qi][1:] if qi < len(qev) else None
            if got != want:
                ok_seq = False
                why = ('exit %d (%s len %d at 0x%x), piece %d: QEMU traced %s, expected %s'
                       % (n, d, ln, gpa, p, got, want))
                break
            per[(bank, d, 'events')] += 1
            qi += 1
        if not ok_seq:
            break
    if ok_seq:
        advance_mem()
        if qi != len(qev):
            ok_seq, why = False, 'QEMU traced %d pflash events no exit explains, first %s' % (
                sum(1 for e in qev[qi:] if e[0] == 'io'), next(e for e in qev[qi:] if e[0] == 'io'))
    J.check('every flash MMIO exit (kvm:kvm_mmio) is exactly the pflash_io events QEMU traced',
            ok_seq, why or '%d exits, %d pflash_io events, %d of them second halves of 8-byte accesses'
            % (len(mmio), len(ios), sum(v for k, v in per.items() if k[2] == 'split')))

    # ---- kvmcmo's flash rows against the replay ---------------------------
    def in_flash(r):
        return r['base'] < FLASH_END
    seen = collections.Counter()
    for r in regions:
        if in_flash(r) and r['outcome'] == 'mmio_user':
            seen[(r['region'], r['base'], r['size'], r['kind'])] += r['count']
    J.check('kvmcmo flash MMIO rows == the replay of QEMU trace + memslots, row by row',
            seen == predicted,
            '%d rows, %d exits' % (len(seen), sum(seen.values())) if seen == predicted else
            'only kvmcmo: %s; only replay: %s' % (dict(seen - predicted), dict(predicted - seen)))
    odd = [r for r in regions if in_flash(r) and r['outcome'] not in ('mmio_user', 'map_ro')]
    J.check('no other outcome in the flash banks', not odd, json.dumps(odd))

    # headline: QEMU's pflash_io counts = kvmcmo's mmio_user + split accesses
    for bank, base in sorted(BANKS.items()):
        for d in ('read', 'write'):
            tool = sum(r['count'] for r in regions if r['outcome'] == 'mmio_user' and r['kind'] == d
                       and base <= r['base'] < base + BANK_SIZE)
            trace = sum(1 for e in ios if e[1] == d and e[2] == bank)
            split = per[(bank, d, 'split')]
            J.check('%s: pflash_io_%s %d == kvmcmo mmio_user %d + %d split' % (bank, d, trace, tool, split),
                    trace == tool + split)

    # ---- every abort in the banks, any outcome: kvm:kvm_guest_fault -------
    kinds_k = collections.Counter(esr_kind(esr) for ipa, esr in faults if ipa < FLASH_END)
    kinds_t = collections.Counter()
    for r in regions:
        if in_flash(r):
            kinds_t[r['kind']] += r['count']
    J.check('all flash aborts by kind == kvm:kvm_guest_fault', kinds_k == kinds_t,
            'kvmcmo %s, kernel %s' % (dict(kinds_t), dict(kinds_k)))

    # ---- the code bank, mapped through its read-only memslot --------------
    ro_ids = {e[1] for e in mems if e[4] and e[2] & KVM_MEM_READONLY and e[3] == BANKS['virt.flash0']}
    code = [r for r in regions if r['slot'] in ro_ids and r['base'] == BANKS['virt.flash0']
            and r['outcome'] == 'map_ro']
    ro_map = sum(a['count'] for a in aborts if a['memslot'] == 'ro' and a['outcome'] == 'map_ro')
    J.check('the code bank is mapped through its read-only memslot (map_ro)',
            code and all(r['kind'] in ('read', 'exec') for r in code),
            ', '.join('%s %s %s %d' % (r['region'], r['kind'], r['outcome'], r['count']) for r in code))
    flash_map = sum(r['count'] for r in regions if in_flash(r) and r['outcome'] == 'map_ro')
    J.check('every map_ro abort is in a flash bank and memslot ro', flash_map == ro_map,
            '%d map_ro in the banks, %d map_ro on memslot ro' % (flash_map, ro_map))

    # ---- the table view: a second kvmcmo, same counts ----------------------
    ttext = read(out + '/stat.txt') or ''
    trows, more = parse_text_regions(ttext)
    m = re.search(r'^VM uefi \(pid (\d+), .*\): (\d+) aborts$', ttext, re.M)
    J.check('the second kvmcmo (tables) counted the same total', m and int(m.group(2)) == total,
            m.group(0) if m else 'no VM line')
    ordered = sorted(regions, key=lambda r: -r['count'])
    shown = min(TEXT_ROWS, len(ordered))
    jkeys = collections.Counter((r['region'], r['base'], r['size'], r['kind'], r['outcome'], r['count'])
                                for r in ordered)
    tkeys = collections.Counter((r['region'], r['base'], r['size'], r['kind'], r['outcome'], r['count'])
                                for r in trows)
    J.check('region table rows are --json rows, busiest first',
            len(trows) == shown and not (tkeys - jkeys) and
            [r['count'] for r in trows] == [r['count'] for r in ordered[:shown]],
            '%d rows shown of %d' % (len(trows), len(ordered)))
    rest = len(ordered) - shown
    J.check('region table says what it left out',
            (more is None and rest == 0) or (more == (rest, sum(r['count'] for r in ordered[shown:]))),
            str(more))
    bad = [r for r in trows if r['region'].startswith('slot') and r['base'] < FLASH_END and r['memslot'] != 'ro']
    none = [r for r in trows if not r['region'].startswith('slot') and r['memslot'] != 'none']
    J.check('flash memslot rows show memslot ro, windows none', not bad and not none,
            json.dumps(bad + none))

    if table_out:
        with open(table_out, 'w') as f:
            f.write(ttext)
    print('realvmm %s: %d passed, %d failed' % (label, J.passed, J.failed))
    sys.exit(1 if J.failed else 0)


if __name__ == '__main__':
    main()
