#!/usr/bin/env bash
# kvmcmod on real (emulated-host) arm64 KVM, on the four kernels: one boot
# per kernel runs three daemons, a real Prometheus server and the workload
# (tests/vm/kvmcmod/guest.sh); the host judges what came back
# (tests/vm/kvmcmod/judge.py): exact series against the workload's ground
# truth, promtool, Prometheus's own query API, every Grafana dashboard
# query, lifecycle, HTTP misuse, signals.  Before booting, on the host:
# promtool over the formatter's golden pages and the CLI contract.
#
#   tests/vm/suite-kvmcmod.sh [-j N] [SERIES...]   (default: 5.10 6.1 6.12 7.2)
#
# KVMCMO_CI=1 (CI's time budget): exact series (page, API, textfile),
# promtool, hostile names, lifecycle, grace and kernel-map cleanup, kprobe
# mode, capabilities, signals and the cheap HTTP checks on every kernel;
# the real Prometheus server (its values and every dashboard query), TLS
# with basic auth, slow clients, daemon B (--max-vms, --per-vm-latency)
# and --check on one kernel only: KVMCMOD_CI_FULL (default 6.12, else the
# last one named).  Each kernel's section says which mode it ran.
#
# Why Prometheus runs inside the guest: the guest has no network device
# (virtio-net is a module these kernels would need in the initramfs), and
# loopback is all a scrape needs.  kvmcmod is a dynamic executable
# (user/kvmcmod/build.mk says why); tests/vm/kvmcmod/payload.sh ships its
# loader and libraries.  Last line: "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
. tests/vm/lib.sh
jobs=2
while [ $# -gt 0 ]; do
	case "$1" in
	-j) jobs=$2; shift 2 ;;
	-*) echo "suite-kvmcmod.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
kernels=${*:-${KVMCMO_KERNELS:-5.10 6.1 6.12 7.2}}
full=all
if [ -n "${KVMCMO_CI:-}" ] && [ "${KVMCMO_CI}" != 0 ]; then
	full=${KVMCMOD_CI_FULL:-6.12}
	case " $kernels " in *" $full "*) ;; *) full=${kernels##* } ;; esac
fi
mode() { [ "$full" = all ] || [ "$full" = "$1" ] && echo full || echo core; }
CACHE=${KVMCMO_CACHE:-$HOME/.cache/kvmcmo}
TOOLS=$CACHE/kvmcmod-tools
work=$(mktemp -d /tmp/kvmcmo-kvmcmod.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
setup_failed() { echo "suite-kvmcmod: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

scripts/fetch-kernels.sh $kernels >&2 || setup_failed "fetch-kernels failed"
scripts/fetch-arm64-deps.sh >&2 || setup_failed "fetch-arm64-deps failed"
tests/vm/kvmcmod/fetch-tools.sh >&2 || setup_failed "fetch-tools failed"
make -s .output/x86/kvmcmod >&2 &&
	make -s ARCH=arm64 STATIC=1 .output/arm64-static/kvmcmo .output/arm64-static/kvmcmod >&2 ||
	setup_failed "build failed"

# ---- on the host ----------------------------------------------------------------
for g in tests/unit/golden/prom_*.txt; do
	if out=$("$TOOLS/promtool" check metrics < "$g" 2>&1); then
		ok "promtool check metrics $g"
	else
		fail "promtool check metrics $g: $out"
	fi
done
K=.output/x86/kvmcmod
usage() {       # usage EXPECTED_RC ARGS...: one line on stderr, that exit code
	local want=$1 out rc
	shift
	out=$("$K" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" = "$want" ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [ -n "$out" ]; then
		ok "kvmcmod $* -> exit $want, one line"
	else
		fail "kvmcmod $* -> exit $rc (want $want): $out"
	fi
}
usage 2 --interval 0
usage 2 --interval 5x
usage 2 --web.listen-address 127.0.0.1
usage 2 --web.listen-address ::1:80
usage 2 --max-vms 0
usage 2 --vm-grace -1s
usage 2 --bogus
usage 2 extra
usage 3 --check                 # x86-64: not an arm64 KVM host
if "$K" --help | grep -q 'USAGE: kvmcmod' && "$K" --help >/dev/null; then
	ok "kvmcmod --help"
else
	fail "kvmcmod --help"
fi
if out=$(groff -man -Tutf8 -ww -z man/kvmcmod.8 2>&1) && [ -z "$out" ]; then
	ok "man/kvmcmod.8 formats without warnings"
else
	fail "man/kvmcmod.8: $out"
fi
if command -v systemd-analyze >/dev/null; then
	# the unit names the installed path, absent here: that one line is expected
	out=$(systemd-analyze verify --man=no tools/kvmcmod.service 2>&1 |
		grep -v 'kvmcmod is not executable: No such file')
	[ -z "$out" ] && ok "systemd-analyze verify tools/kvmcmod.service" ||
		fail "systemd-analyze verify tools/kvmcmod.service: $out"
fi
python3 -m json.tool tools/grafana/kvmcmo.json >/dev/null &&
	ok "tools/grafana/kvmcmo.json is JSON" || fail "tools/grafana/kvmcmo.json is not JSON"

# ---- the payload ------------------------------------------------------------------
P=$work/payload
tests/vm/kvmcmod/payload.sh "$P" .output/arm64-static/kvmcmod "$TOOLS/arm64/prometheus" \
	-- "$TOOLS/arm64/lib" >&2 || setup_failed "payload failed"
cp .output/arm64-static/kvmcmo tests/vm/kvmcmod/prometheus.yml "$P/"
tests/vm/kvmcmod/queries.py tools/grafana/kvmcmo.json > "$P/queries.txt" ||
	setup_failed "dashboard queries"
# TLS and basic auth for daemon C: a throwaway self-signed certificate, and
# the user alice with password s3cret (bcrypt, cost 4)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-keyout "$P/key.pem" -out "$P/cert.pem" > /dev/null 2>&1 || setup_failed "openssl"
cat > "$P/web.yml" <<'EOF'
tls_server_config:
  cert_file: cert.pem
  key_file: key.pem
basic_auth_users:
  alice: '$2b$04$NeuzUtOjKP7hElIMeRgJqOLO4uVVPcb2m2rxuAMw2EiFv7ZEurpca'
EOF

run_one() {
	local k=$1
	mkdir -p "$work/$k"
	tests/vm/boot.sh --kernel "$k" --payload "$P" --run tests/vm/kvmcmod/guest.sh \
		--timeout 1200 --mem 2048 --out "$work/$k/out" --log "$work/$k/console.log" \
		--append "kvmcmod.mode=$(mode "$k")" > "$work/$k/boot.txt" 2>&1
	echo $? > "$work/$k/boot.rc"
}
vm_each_kernel "$jobs" run_one $kernels

for k in $kernels; do
	echo "== kernel $k ($(mode "$k") mode): $(vm_boot_line "$k")"
	vm_boot_ok "$k" && vm_judge "$k" tests/vm/kvmcmod/judge.py "$work/$k/out" "$k" \
		"$TOOLS/promtool" "$P/queries.txt"
	[ -f "$work/$k/out/timeline" ] && echo "   timeline ($k, guest seconds): $(tr '\n' ' ' < "$work/$k/out/timeline")"
	vm_keep "$k"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
