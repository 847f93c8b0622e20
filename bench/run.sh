#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/run.sh: what does tracing kmem events cost? Runs a fixed kernel-
# allocation load (bench/loadgen --mode pipe) without a tracer, then under
# each tracer case, and prints one table row per case:
#   events/s      kmem:kmalloc + kmem:kfree per second, system wide, during the load
#   CPU ns/event  tracer user+sys CPU from load start until it exited, per event
#   lost          events the tracer reported lost (LOST lines / PERF_RECORD_LOST)
#   peak RSS MB   the tracer's maximum resident set size
#   slowdown      baseline loadgen ops/s divided by ops/s under the tracer
# bench/README.md explains the numbers. Run from the repo root (make bench).
#
# Adding a case: a line in main(), either
#   bench_prof NAME PROFILER ARGS...   (a perf-prof profiler, skipped if absent)
#   bench_case NAME CMD ARGS...        (any command that traces until SIGINT)
#
# Environment knobs:
#   BENCH_DURATION=5   seconds of load per run       BENCH_WORKERS=2  loadgen threads
#   BENCH_RATE=0       loadgen ops/s (0 = full speed) BENCH_WARMUP=1   s before the load
#   BENCH_ONLY=REGEX   run only cases whose name matches
#   BENCH_TRACE_CMD="cmd args"  replaces the perf-prof trace command (a stand-in)
#   BENCH_SINK=grep|null  tracer stdout: through `grep LOST` (counts LOST lines
#                      printed on stdout) or straight to /dev/null
#   PERF_PROF=./perf-prof
set -uo pipefail # not -e: one failing case must not hide the others

cd "$(dirname "$0")/.." || exit 1

DURATION=${BENCH_DURATION:-5}
WORKERS=${BENCH_WORKERS:-2}
RATE=${BENCH_RATE:-0}
WARMUP=${BENCH_WARMUP:-1}
ONLY=${BENCH_ONLY:-}
SINK=${BENCH_SINK:-grep}
PERF_PROF=${PERF_PROF:-./perf-prof}
LOADGEN=bench/loadgen
DRAIN_TIMEOUT=30 # seconds a tracer may take to flush after SIGINT
HZ=$(getconf CLK_TCK)

TMP=$(mktemp -d /tmp/perf-prof-bench.XXXXXX) || exit 1
declare -A LIVE=() # pids this script started and has not reaped yet

# ---------------------------------------------------------------- processes

# Kills PID and everything below it; used only on pids this script started.
kill_tree() {
	local pid=$1 child
	# shellcheck disable=SC2013 # the file is a space separated pid list
	for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		kill_tree "$child"
	done
	kill -KILL "$pid" 2>/dev/null
}

cleanup() {
	local pid
	for pid in "${!LIVE[@]}"; do
		kill_tree "$pid"
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

track() { LIVE[$1]=1; }
reap() { wait "$1" 2>/dev/null; local rc=$?; unset "LIVE[$1]"; return $rc; }

# First child of PID (the real tracer under /usr/bin/time), waiting up to 1 s for it.
child_of() {
	local pid=$1 kids i
	for ((i = 0; i < 50; i++)); do
		kids=$(cat /proc/"$pid"/task/"$pid"/children 2>/dev/null)
		if [ -n "$kids" ]; then
			echo "${kids%% *}"
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# CPU time of PID in ns, exact (the scheduler's sum_exec_runtime), all threads.
# /proc/PID/stat's tick counts are sampled at 10 ms and undercount short bursts.
cpu_ns() {
	local t sum=0 f
	for t in /proc/"$1"/task/*; do
		read -r f _ <"$t/schedstat" 2>/dev/null || continue
		sum=$((sum + f))
	done
	echo "$sum"
}

# user+sys CPU of PID in clock ticks (all its threads).
cpu_ticks() {
	local stat
	stat=$(cat /proc/"$1"/stat 2>/dev/null) || return 1
	stat=${stat##*) } # the command name may hold spaces; fields follow ") "
	# shellcheck disable=SC2086
	set -- $stat
	echo $((${12} + ${13}))
}

# ---------------------------------------------------------------- the load

# Runs the loadgen under `perf stat -a` counting kmalloc+kfree.
# Sets LOAD_OPS_S, LOAD_SECS, LOAD_EVENTS; returns 1 if the load failed.
run_load() {
	local tag=$1 pid line
	local -a args=(--mode pipe --workers "$WORKERS" --duration "$DURATION")
	[ "$RATE" != 0 ] && args+=(--rate "$RATE")
	perf stat -x, -o "$TMP/$tag.stat" -e kmem:kmalloc,kmem:kfree -a -- \
		"$LOADGEN" "${args[@]}" >"$TMP/$tag.load" 2>"$TMP/$tag.loaderr" &
	pid=$!
	track "$pid"
	reap "$pid"
	line=$(grep '^loadgen: mode=' "$TMP/$tag.load")
	if [ -z "$line" ]; then
		echo "bench: $tag: loadgen failed: $(head -c 300 "$TMP/$tag.loaderr")" >&2
		return 1
	fi
	LOAD_OPS_S=$(sed -n 's/.* ops\/s=\([0-9.]*\).*/\1/p' <<<"$line")
	LOAD_SECS=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")
	# perf stat -x, lines: COUNT,UNIT,EVENT,... ("<not counted>" sums as 0)
	LOAD_EVENTS=$(awk -F, '$3 ~ /^kmem:/ && $1 ~ /^[0-9]+$/ { s += $1 } END { print s + 0 }' \
		"$TMP/$tag.stat")
}

# ---------------------------------------------------------------- a tracer

# Starts CMD... under /usr/bin/time; sets TR_TAG, TR_TIME_PID, TR_PID, TR_SINK_PID.
tracer_start() {
	TR_TAG=$1
	shift
	local out=/dev/null
	TR_SINK_PID=
	if [ "$SINK" = grep ]; then
		# A reader that keeps only LOST lines: cheap, and LOST on stdout still counts.
		mkfifo "$TMP/$TR_TAG.fifo"
		grep -a -F LOST <"$TMP/$TR_TAG.fifo" >"$TMP/$TR_TAG.lost" &
		TR_SINK_PID=$!
		track "$TR_SINK_PID"
		out=$TMP/$TR_TAG.fifo
	fi
	/usr/bin/time -f '%e %U %S %M' -o "$TMP/$TR_TAG.time" "$@" >"$out" 2>"$TMP/$TR_TAG.err" &
	TR_TIME_PID=$!
	track "$TR_TIME_PID"
	TR_PID=$(child_of "$TR_TIME_PID") || TR_PID=
}

# True while the tracer runs; explains why not on stderr.
tracer_alive() {
	if [ -n "$TR_PID" ] && kill -0 "$TR_PID" 2>/dev/null; then
		return 0
	fi
	echo "bench: $TR_TAG: tracer is not running: $(tail -c 300 "$TMP/$TR_TAG.err" 2>/dev/null)" >&2
	return 1
}

# SIGINT, wait for the flush, reap. Sets TR_CPU_S (total user+sys) and TR_RSS_KB.
tracer_stop() {
	local i fields
	if [ -n "$TR_PID" ]; then
		kill -INT "$TR_PID" 2>/dev/null
		for ((i = 0; i < DRAIN_TIMEOUT * 10; i++)); do
			kill -0 "$TR_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$TR_PID" 2>/dev/null; then
			echo "bench: $TR_TAG: no exit ${DRAIN_TIMEOUT}s after SIGINT, killing it" >&2
			kill -KILL "$TR_PID" 2>/dev/null
		fi
	fi
	reap "$TR_TIME_PID"
	[ -n "$TR_SINK_PID" ] && reap "$TR_SINK_PID"
	# GNU time may print "Command exited with non-zero status" first; the numbers are last.
	fields=$(tail -n 1 "$TMP/$TR_TAG.time" 2>/dev/null)
	TR_CPU_S=$(awk '{ print $2 + $3 }' <<<"$fields")
	TR_RSS_KB=$(awk '{ print $4 + 0 }' <<<"$fields")
}

# Sum of "LOST N events" in what the tracer printed (stdout via the sink, stderr).
tracer_lost() {
	cat "$TMP/$TR_TAG.lost" "$TMP/$TR_TAG.err" 2>/dev/null |
		{ grep -a -o -E 'LOST [0-9]+ events' || true; } | awk '{ s += $2 } END { print s + 0 }'
}

# ---------------------------------------------------------------- results

ROWS=()

# add_row NAME EVENTS/S NS/EVENT LOST RSS_MB OPS/S POST_S (use - for n/a);
# slowdown is computed when printing, once both baselines are known.
add_row() {
	local IFS=$'\t'
	ROWS+=("$*")
}

skip_row() {
	ROWS+=("$1"$'\t'"SKIPPED: $2")
	echo "bench: $1: skipped: $2" >&2
}

kb_to_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

wanted() { [ -z "$ONLY" ] || [[ $1 =~ $ONLY ]]; }

case_tag() { tr -c 'A-Za-z0-9' '_' <<<"$1" | cut -c1-40; }

# Runs the load under one tracer and records its row; the tracer's CPU is
# measured exactly (schedstat) from the moment the load starts until it ends:
# start-up and the final flush after SIGINT are excluded.
measure_tracer() {
	local name=$1
	shift
	local tag cpu0 cpu1
	tag=$(case_tag "$name")
	tracer_start "$tag" "$@"
	sleep "$WARMUP"
	if ! tracer_alive; then
		tracer_stop
		skip_row "$name" "tracer failed to start (see above)"
		return 1
	fi
	cpu0=$(cpu_ns "$TR_PID")
	if ! run_load "$tag"; then
		tracer_stop
		skip_row "$name" "load failed"
		return 1
	fi
	# Let the tracer catch up with what the load left in its rings first.
	sleep 0.3
	cpu1=$(cpu_ns "$TR_PID")
	tracer_alive || true
	tracer_stop
	M_CPU_S=$(awk -v c0="$cpu0" -v c1="$cpu1" 'BEGIN { print (c1 - c0) / 1e9 }')
	M_EVENTS=$LOAD_EVENTS
	M_EVENTS_S=$(awk -v e="$LOAD_EVENTS" -v s="$LOAD_SECS" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')
	M_RSS_KB=$TR_RSS_KB
	M_OPS_S=$LOAD_OPS_S
	M_LOST=$(tracer_lost)
	return 0
}

ns_per_event() { awk -v c="$1" -v e="$2" 'BEGIN { printf "%.0f", (e > 0 ? c * 1e9 / e : 0) }'; }

# bench_case NAME CMD ARGS...: CMD traces until SIGINT; its stdout is thrown away.
bench_case() {
	local name=$1
	shift
	wanted "$name" || return 0
	echo "bench: $name: $*" >&2
	measure_tracer "$name" "$@" || return 0
	add_row "$name" "$M_EVENTS_S" "$(ns_per_event "$M_CPU_S" "$M_EVENTS")" "$M_LOST" \
		"$(kb_to_mb "$M_RSS_KB")" "$M_OPS_S" - "$RATE"
}

# bench_prof NAME PROFILER ARGS...: a perf-prof profiler; skipped while it does not exist.
bench_prof() {
	local name=$1 prof=$2
	shift 2
	wanted "$name" || return 0
	if [ ! -x "$PERF_PROF" ]; then
		skip_row "$name" "$PERF_PROF not built"
		return 0
	fi
	if ! "$PERF_PROF" "$prof" --help >/dev/null 2>&1; then
		skip_row "$name" "$PERF_PROF has no working '$prof' profiler yet"
		return 0
	fi
	bench_case "$name" "$PERF_PROF" "$prof" "$@"
}

# The comparison the kmemprof issue asks for: perf record -g to a file, then
# perf script over it. CPU and RSS are those of both steps; "post s" is the
# wall time perf script needed afterwards.
bench_perf_record() {
	local name="perf record -g + perf script"
	wanted "$name" || return 0
	echo "bench: $name" >&2
	local data=$TMP/perf.data pid fields script_cpu script_rss script_wall lost
	measure_tracer "$name" perf record -q -e kmem:kmalloc -e kmem:kfree -g -a -o "$data" || return 0
	local rec_cpu=$M_CPU_S rec_rss=$M_RSS_KB
	/usr/bin/time -f '%e %U %S %M' -o "$TMP/script.time" \
		perf script -i "$data" >/dev/null 2>"$TMP/script.err" &
	pid=$!
	track "$pid"
	reap "$pid"
	fields=$(tail -n 1 "$TMP/script.time")
	read -r script_wall script_cpu script_rss <<<"$(awk '{ print $1, $2 + $3, $4 }' <<<"$fields")"
	# Lost records, counted in a cheap untimed pass (no callchains resolved).
	lost=$(perf script --show-lost-events -F comm -i "$data" 2>/dev/null |
		sed -n 's/.*PERF_RECORD_LOST lost \([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	add_row "$name" "$M_EVENTS_S" \
		"$(ns_per_event "$(awk -v a="$rec_cpu" -v b="$script_cpu" 'BEGIN { print a + b }')" "$M_EVENTS")" \
		"$lost" "$(awk -v a="$rec_rss" -v b="$script_rss" 'BEGIN { printf "%.1f", (a > b ? a : b) / 1024 }')" \
		"$M_OPS_S" "$script_wall"
	echo "bench: $name: record ${rec_cpu}s CPU, $((rec_rss / 1024)) MB; script ${script_cpu}s CPU," \
		"$((script_rss / 1024)) MB, ${script_wall}s; $(du -m "$data" | cut -f1) MB of data" >&2
	rm -f "$data"
}

# Load without any tracer, before and after the cases; slowdown uses the mean.
BASE_RUNS=()
BASE_EVS=()
baseline() {
	run_load "baseline$1" || return 1
	BASE_RUNS+=("$LOAD_OPS_S")
	BASE_EVS+=("$(awk -v e="$LOAD_EVENTS" -v s="$LOAD_SECS" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')")
	BASE_OPS_S=$(printf '%s\n' "${BASE_RUNS[@]}" | awk '{ s += $1 } END { printf "%.1f", s / NR }')
	BASE_EVENTS_S=$(printf '%s\n' "${BASE_EVS[@]}" | awk '{ s += $1 } END { printf "%.0f", s / NR }')
}

# ---------------------------------------------------------------- setup

preflight() {
	local tool
	if [ "$(id -u)" != 0 ]; then
		echo "bench: needs root (system-wide tracepoints)" >&2
		exit 1
	fi
	for tool in perf /usr/bin/time mkfifo; do
		command -v "$tool" >/dev/null || { echo "bench: '$tool' missing: run make deps" >&2; exit 1; }
	done
	if [ ! -x "$LOADGEN" ]; then
		echo "bench: $LOADGEN not built: run make bench/loadgen" >&2
		exit 1
	fi
	if ! mountpoint -q /sys/kernel/tracing; then
		mount -t tracefs nodev /sys/kernel/tracing || {
			echo "bench: tracefs is not mounted and mounting it failed" >&2
			exit 1
		}
	fi
}

ROW_FMT='%-32s %12s %13s %10s %12s %10s %12s %8s\n'

print_table() {
	local row name ev ns lost rss ops post slow rate
	echo
	echo "load: loadgen --mode pipe --workers $WORKERS --duration $DURATION" \
		"$([ "$RATE" != 0 ] && echo "--rate $RATE")($(nproc) CPUs, kernel $(uname -r))"
	echo "baseline runs: ops/s ${BASE_RUNS[*]}; events/s ${BASE_EVS[*]}"
	# shellcheck disable=SC2059
	printf "$ROW_FMT" case events/s "CPU ns/event" lost "peak RSS MB" slowdown "loadgen op/s" "post s"
	# shellcheck disable=SC2059
	printf "$ROW_FMT" "no tracer (baseline)" "$BASE_EVENTS_S" - - - 1.00x "$BASE_OPS_S" -
	for row in "${ROWS[@]}"; do
		IFS=$'\t' read -r name ev ns lost rss ops post rate <<<"$row"
		if [[ $ev == SKIPPED:* ]]; then
			printf '%-32s %s\n' "$name" "$ev"
			continue
		fi
		# A paced case (RATE set for it) is slowed down if it misses its own rate.
		[ -n "$rate" ] && [ "$rate" != 0 ] || rate=$BASE_OPS_S
		slow=$(awk -v b="$rate" -v o="$ops" 'BEGIN { printf "%.2fx", (o > 0 ? b / o : 0) }')
		# shellcheck disable=SC2059
		printf "$ROW_FMT" "$name" "$ev" "$ns" "$lost" "$rss" "$slow" "$ops" "$post"
	done
}

main() {
	local started=$SECONDS
	preflight
	echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other load skews results)" >&2
	baseline 1 || exit 1

	if [ -n "${BENCH_TRACE_CMD:-}" ]; then
		# shellcheck disable=SC2086 # the stand-in command is split into words on purpose
		bench_case "stand-in: ${BENCH_TRACE_CMD:0:22}" $BENCH_TRACE_CMD
	else
		# trace prints every event: measured on a load paced at about 100k
		# kmalloc+kfree events/s (4 events per pipe op), and at full speed.
		RATE=${BENCH_TRACE_RATE:-30000} bench_prof "perf-prof trace --order (paced)" \
			trace -e kmem:kmalloc,kmem:kfree --order -m 256
		bench_prof "perf-prof trace --order" trace -e kmem:kmalloc,kmem:kfree --order
		bench_prof "perf-prof kmemprof stacks -m256" kmemprof \
			-e 'kmem:kmalloc//size=bytes_alloc/stack/' -e 'kmem:kfree//stack/' -k ptr --order -m 256
		bench_prof "perf-prof kmemprof no stacks" kmemprof \
			-e 'kmem:kmalloc//size=bytes_alloc/' -e 'kmem:kfree' -k ptr --order -m 256
	fi
	bench_perf_record

	baseline 2 || exit 1
	if awk -v e="$BASE_EVENTS_S" 'BEGIN { exit !(e < 100000) }'; then
		echo "bench: warning: only $BASE_EVENTS_S events/s without a tracer (wanted >= 100000)" >&2
	fi
	print_table
	echo "bench: done in $((SECONDS - started)) s" >&2
}

main "$@"
