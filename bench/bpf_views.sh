#!/bin/sh
# Overhead of each BPF view on a context-switch-heavy load: `perf bench
# sched pipe` (two tasks ping-ponging through a pipe, two switches per op,
# pinned to one CPU) runs without and with each view. This VM's speed drifts
# from run to run, so the two are interleaved ROUNDS times (the view is
# started and stopped around each "with" run) and medians are compared.
# Usage: bench/bpf_views.sh [LOOPS] [ROUNDS] (default 50000 5). Needs root.
set -eu
cd "$(dirname "$0")/.."
LOOPS=${1:-50000}
ROUNDS=${2:-5}
PP=./perf-prof

if ! command -v perf >/dev/null 2>&1; then
	echo "bpf_views.sh: needs 'perf' (Debian package linux-perf)" >&2
	exit 1
fi

# Switches per second of one run of the pipe benchmark.
measure() {
	taskset -c 0 perf bench sched pipe -l "$LOOPS" 2>/dev/null |
		awk '/ops\/sec/ { printf "%d\n", $1 * 2 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run_view() {
	name=$1; shift
	without=""; with=""
	i=0
	while [ "$i" -lt "$ROUNDS" ]; do
		without="$without $(measure)"
		"$PP" "$@" -o /dev/null >/dev/null 2>&1 &
		vpid=$!
		sleep 1   # let it load and attach
		if ! kill -0 "$vpid" 2>/dev/null; then
			printf '%-22s %14s\n' "$name" "failed to start"
			return
		fi
		with="$with $(measure)"
		kill -INT "$vpid" 2>/dev/null || true
		wait "$vpid" 2>/dev/null || true
		i=$((i + 1))
	done
	b=$(echo "$without" | tr ' ' '\n' | grep . | median)
	v=$(echo "$with" | tr ' ' '\n' | grep . | median)
	awk -v n="$name" -v v="$v" -v b="$b" \
		'BEGIN { printf "%-22s %14d %14d %9.1f%%\n", n, b, v, (b - v) * 100.0 / b }'
}

printf '%-22s %14s %14s %10s\n' "view" "without/s" "with/s" "overhead"
run_view "procstat (all)" procstat -i 1000
run_view "procstat -p 1" procstat -p 1 -i 1000
run_view "sysstat" sysstat -i 1000
run_view "sysstat -n" sysstat -n -i 1000
run_view "paf" paf -i 1000
run_view "pr" pr -i 1000
echo "memleak is not on this path: its uprobes fire only inside the watched process's allocator."
