#!/usr/bin/env bash
# Build the libFuzzer harness of the recording reader (tests/fuzz/fuzz_recfile.c,
# clang -fsanitize=fuzzer,address,undefined) and run it on the committed
# corpus, every input once: no crash, no sanitizer report, no leak.
#
#   tests/fuzz/run.sh                  # the corpus run (what make check does)
#   tests/fuzz/run.sh --fuzz SECONDS   # then fuzz for SECONDS; new inputs land
#                                      # in .output/fuzz/new (merge them into the
#                                      # corpus with -merge=1 if worth keeping)
#
# Last line: "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
out=.output/fuzz
bin=$out/fuzz_recfile
corpus=tests/fuzz/corpus/recfile
fuzz=0
[ "${1:-}" = --fuzz ] && fuzz=${2:?seconds}
passed=0 failed=0
mkdir -p "$out"

SRCS="tests/fuzz/fuzz_recfile.c tools/kvmcmo/recfile.c tools/kvmcmo/stats.c
      tools/kvmcmo/diff.c tools/kvmcmo/failon.c tools/kvmcmo/diffout.c
      tools/kvmcmo/diffout_html.c tools/kvmcmo/common.c user/labels.c user/hist.c
      user/json.c user/regions.c user/log.c user/cli.c user/vmname.c"
# shellcheck disable=SC2086
if clang -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Werror -Wno-missing-field-initializers \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Ibpf -Iuser -Itools/kvmcmo $SRCS -o "$bin.new" \
	-ljansson -lgsl -lgslcblas -lbpf -lm -lpthread 2> "$out/build.log"; then
	mv "$bin.new" "$bin"
	passed=$((passed + 1)); echo "ok   fuzzer built (clang -fsanitize=fuzzer,address,undefined)"
else
	failed=$((failed + 1)); echo "FAIL fuzzer build (scripts/install-build-deps.sh installs libclang-rt-dev)"
	head -20 "$out/build.log"
	echo "$passed passed, $failed failed"
	exit 1
fi

n=$(find "$corpus" -type f | wc -l)
# -runs=0: every corpus input once, nothing new
if "$bin" -runs=0 -rss_limit_mb=4096 "$corpus" > "$out/corpus.log" 2>&1 &&
   ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$out/corpus.log"; then
	passed=$((passed + 1)); echo "ok   corpus run: $n inputs, no crash or sanitizer report"
else
	failed=$((failed + 1)); echo "FAIL corpus run: see below"
	grep -E -A15 'ERROR|runtime error|deadly' "$out/corpus.log" | head -40
fi

if [ "$fuzz" != 0 ]; then
	mkdir -p "$out/new"
	if "$bin" -max_total_time="$fuzz" -rss_limit_mb=4096 -max_len=65536 \
		-dict=tests/fuzz/recfile.dict -artifact_prefix="$out/" "$out/new" "$corpus" \
		> "$out/fuzz.log" 2>&1; then
		passed=$((passed + 1))
		echo "ok   fuzzed $fuzz s: $(grep -E '^Done' "$out/fuzz.log")"
	else
		failed=$((failed + 1)); echo "FAIL fuzzing found a crash: $(ls "$out"/crash-* 2>/dev/null)"
		grep -E -A15 'ERROR|runtime error|deadly' "$out/fuzz.log" | head -40
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
