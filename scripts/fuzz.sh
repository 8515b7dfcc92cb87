#!/usr/bin/env bash
# Runs every native Go fuzz test in the repository for a short time each
# (FUZZTIME, default 5s), one after another. Fuzz tests are found, not
# listed: a new func FuzzX(f *testing.F) in any *_test.go is picked up.
# A failure leaves its reproducer in the package's testdata/fuzz/FuzzX/.
# Exits non-zero if any fuzz test fails; the last line is "N passed, N failed".
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-5s}
GO=${GO:-go}

# file:line:func FuzzName(f *testing.F) → "dir FuzzName", skipping VCS and
# vendored trees.
mapfile -t targets < <(
	grep -r --include='*_test.go' --exclude-dir=.git --exclude-dir=vendor --exclude-dir=testdata \
		-E '^func Fuzz[A-Za-z0-9_]*\(' . |
		sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' |
		sort -u
)

if ((${#targets[@]} == 0)); then
	echo "fuzz: no fuzz tests found"
	echo "0 passed, 0 failed"
	exit 0
fi

passed=0
failed=0
failures=()
for t in "${targets[@]}"; do
	read -r dir name <<<"$t"
	start=$EPOCHREALTIME
	echo "--- fuzzing ./$dir $name for $FUZZTIME"
	if "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "./$dir"; then
		passed=$((passed + 1))
		status=PASS
	else
		failed=$((failed + 1))
		failures+=("./$dir $name")
		status=FAIL
	fi
	awk -v s="$status" -v n="./$dir $name" -v a="$start" -v b="$EPOCHREALTIME" \
		'BEGIN { printf "%s  %s  (%.1fs)\n", s, n, b - a }'
done

for f in "${failures[@]}"; do
	echo "FAILED fuzz test: $f" >&2
done
echo "${passed} passed, ${failed} failed"
((failed == 0))
