#!/bin/sh
# Overhead of each BPF view on a context-switch-heavy load: `perf bench
# sched pipe` (two tasks ping-ponging through a pipe, two switches per op)
# runs alone, then under each view; the table gives switches/s and the
# slowdown. Usage: bench/bpf_views.sh [LOOPS] (default 50000). Needs root.
set -eu
cd "$(dirname "$0")/.."
LOOPS=${1:-50000}
PP=./perf-prof

if ! command -v perf >/dev/null 2>&1; then
	echo "bpf_views.sh: needs 'perf' (Debian package linux-perf)" >&2
	exit 1
fi

# Switches per second of one run of the pipe benchmark.
measure() {
	# Both tasks on one CPU: every op is two real context switches, and the
	# rate does not swing with where the scheduler happens to place them.
	taskset -c 0 perf bench sched pipe -l "$LOOPS" 2>/dev/null |
		awk '/ops\/sec/ { printf "%d\n", $1 * 2 }'
}

# Median of three runs, to damp a noisy machine.
median3() {
	a=$(measure); b=$(measure); c=$(measure)
	printf '%s\n%s\n%s\n' "$a" "$b" "$c" | sort -n | sed -n 2p
}

run_view() {
	name=$1; shift
	# A fresh baseline next to each view: the machine drifts between cases.
	BASE=$(median3)
	"$PP" "$@" -o /dev/null >/dev/null 2>&1 &
	vpid=$!
	sleep 1.5   # let it load and attach
	if ! kill -0 "$vpid" 2>/dev/null; then
		printf '%-22s %14s\n' "$name" "failed to start"
		return
	fi
	v=$(median3)
	kill -INT "$vpid" 2>/dev/null || true
	wait "$vpid" 2>/dev/null || true
	awk -v n="$name" -v v="$v" -v b="$BASE" \
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
