"""kmemsnoop on the real kernel: per-process MemStats and anomaly classification.

Helpers with known behaviour: `loadgen --mode hold` keeps the pipes it
opens (a steady kernel-memory leak), `loadgen --mode pipe` opens and
closes pipes quickly (churn), `idle` allocates nothing.
"""
import json
import os
import re
import signal
import subprocess
import time

from conftest import LOADGEN, PERF_PROF, ROOT, perf_prof

HELPERS = os.path.join(ROOT, "tests", "kmemsnoop_helpers")
IDLE = os.path.join(HELPERS, "idle")
SPAWNER = os.path.join(HELPERS, "spawner")
SIZE = r"\d+(?: B|\.\d\d (?:KB|MB|GB))"


def run_for(args, seconds, **kw):
    """Start perf-prof, let it run, stop it with SIGINT like a user; return (rc, out, err)."""
    p = subprocess.Popen([PERF_PROF, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    try:
        time.sleep(seconds)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out, err


def json_reports(out):
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def kinds(objs):
    return {a["type"] for o in objs for a in o["anomalies"]}


def start(*cmd):
    return subprocess.Popen(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_three_helpers_are_classified():
    hold = start(LOADGEN, "--mode", "hold", "--hold", "4000", "--rate", "500", "--duration", "12")
    churn = start(LOADGEN, "--mode", "pipe", "--rate", "3000", "--duration", "12")
    idle = start(IDLE, "12")
    try:
        time.sleep(0.3)
        pids = f"{hold.pid},{churn.pid},{idle.pid}"
        rc, out, err = run_for(["kmemsnoop", "-p", pids, "-i", "250", "--leak-samples", "6",
                                "--format", "json", "--top", "100", "-m", "1024"], 6)
    finally:
        stop([hold, churn, idle])
    assert rc == 0, err
    reports = json_reports(out)
    by = {pid: [r for r in reports if r["tgid"] == pid] for pid in (hold.pid, churn.pid, idle.pid)}
    # Every watched process is in every report, with the seed's MemStats fields.
    n = len(by[idle.pid])
    assert n >= 15, f"only {n} reports in 6 s at -i 250"
    for pid, objs in by.items():
        assert len(objs) == n, (pid, len(objs), n)
        for o in objs:
            for f in ("pid", "comm", "total_allocs", "total_frees", "current_bytes", "peak_bytes",
                      "alloc_sizes", "usage_samples", "churn_score", "live_objects"):
                assert f in o, (f, o)
    # Only the watched ones are reported.
    assert {r["tgid"] for r in reports} == {hold.pid, churn.pid, idle.pid}
    assert kinds(by[hold.pid]) >= {"leak"}, kinds(by[hold.pid])
    assert "churn" not in kinds(by[hold.pid])
    assert "churn" in kinds(by[churn.pid]), [o["churn_score"] for o in by[churn.pid]]
    assert "leak" not in kinds(by[churn.pid])
    assert kinds(by[idle.pid]) == set()
    assert by[idle.pid][-1]["total_allocs"] == 0 and by[idle.pid][-1]["current_bytes"] == 0
    # The leak names the stack that holds the pipes, and the held bytes are counted.
    leak = next(a for o in by[hold.pid] for a in o["anomalies"] if a["type"] == "leak")
    assert any("pipe" in frame for frame in leak["stack"]), leak["stack"]
    last = by[hold.pid][-1]
    assert last["current_bytes"] >= 1 << 20, last  # ~3000 pipes of ~1.2 KB of kmalloc each
    assert last["peak_bytes"] >= last["current_bytes"]
    assert last["total_allocs"] - last["total_frees"] >= last["live_objects"] > 0


def test_text_report_of_a_command():
    rc, out, err = run_for(["kmemsnoop", "-i", "300", "--leak-samples", "4", "--",
                            LOADGEN, "--mode", "hold", "--hold", "2000", "--rate", "500", "--duration", "3"], 6)
    assert rc == 0, err
    heads = re.findall(r"^============ memory report: loadgen \(tgid (\d+)(, exited)?\) ============$", out, re.M)
    assert len(heads) >= 5, out[-2000:]
    assert len({h[0] for h in heads}) == 1, "only the command is watched"
    stats = re.findall(rf"^allocs (\d+), frees (\d+), current ({SIZE}), peak ({SIZE}), churn (\d+)$", out, re.M)
    assert len(stats) == len(heads)
    assert int(stats[-1][0]) >= 2000
    assert re.search(r"^ANOMALY leak: current grew in [34] of the last 4 samples \(\+" + SIZE, out, re.M), out[-3000:]
    assert re.search(r"^    [0-9a-f]{16} alloc_pipe_info\+0x[0-9a-f]+ \(\[kernel\.kallsyms\]\)$", out, re.M)


def test_comm_filter_and_exited_processes_dropped():
    # spawner's children keep its comm; each exits at once: seen, reported as exited once, then gone.
    p = None
    proc = subprocess.Popen([PERF_PROF, "kmemsnoop", "--comm", "spawner", "-i", "200", "--format", "json",
                             "--top", "100000", "-v"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        p = subprocess.run([SPAWNER, "300", "4"], capture_output=True, text=True, timeout=60)
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        rc = proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert p.returncode == 0, p.stderr
    assert rc == 0, err
    reports = json_reports(out)
    assert reports and {r["comm"] for r in reports} == {"spawner"}
    exited_at = {}
    for r in reports:
        if r["exited"]:
            assert r["tgid"] not in exited_at, "an exited process is reported as exited once"
            exited_at[r["tgid"]] = r["time"]
    assert len(exited_at) >= 250, len(exited_at)
    for r in reports:
        if r["tgid"] in exited_at:
            assert r["time"] <= exited_at[r["tgid"]], "dropped after its exit report"
    # Not kept after their last report: the table at exit holds far fewer than the 301 spawners.
    m = re.search(r"kmemsnoop: (\d+) processes", err)
    assert m and int(m.group(1)) < 200, err[-500:]


def vmrss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_memory_bounded_with_10k_short_lived_processes():
    proc = subprocess.Popen([PERF_PROF, "kmemsnoop", "-i", "500", "-o", os.devnull, "-v"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        before = vmrss_kb(proc.pid)
        sp = subprocess.run([SPAWNER, "10000", "8"], capture_output=True, text=True, timeout=120)
        assert sp.returncode == 0, sp.stderr
        time.sleep(1.2)
        after = vmrss_kb(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    print(f"VmRSS before {before} kB, after {after} kB")
    assert after <= 2 * before, (before, after)
    # The processes were dropped, not kept: only a few are still tracked at exit.
    m = re.search(r"kmemsnoop: (\d+) processes, (\d+) live records", err)
    assert m and int(m.group(1)) < 1000, err[-500:]


def test_bad_input():
    cases = [
        (["--leak-samples", "0"], "--leak-samples"),
        (["--leak-min", "lots"], "--leak-min"),
        (["--churn-threshold", "101"], "--churn-threshold"),
        (["--churn-lifetime", "soon"], "--churn-lifetime"),
        (["--burst-k", "-1"], "--burst-k"),
        (["-p", "999999999"], "999999999"),
        (["-p", "12x"], "-p"),
        (["--comm", "a-name-longer-than-15"], "--comm"),
        (["--format", "folded"], "folded"),
        (["--cache", "-e", "kmem:kmalloc//key=ptr/size=bytes_alloc/"], "--cache"),
        (["-e", "kmem:kmalloc//key=ptr/"], "size="),
        (["-e", "kmem:kmalloc//key=ptr/size=byts/"], "byts"),
    ]
    for args, word in cases:
        r = perf_prof("kmemsnoop", *args, "-i", "100", "-N", "1", timeout=30)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert lines and lines[0].startswith("perf-prof: ") and word in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and "Segmentation" not in r.stderr


def test_user_events_override_defaults():
    # -e replaces the defaults; frees are still charged to the allocator.
    rc, out, err = run_for(["kmemsnoop", "-e", "kmem:kmalloc//key=ptr/size=bytes_alloc/",
                            "-e", "kmem:kfree//key=ptr/", "-i", "200", "-v", "--",
                            LOADGEN, "--mode", "pipe", "--rate", "2000", "--duration", "2"], 4)
    assert rc == 0, err
    assert "kmem:kmalloc => kmem:kfree" in err
    stats = re.findall(r"^allocs (\d+), frees (\d+), current", out, re.M)
    assert stats and int(stats[-1][0]) >= 4000
    # A churning process frees what it allocates.
    assert int(stats[-1][1]) >= int(stats[-1][0]) * 9 // 10, stats[-1]


# ---- --user: the C library's malloc/free through the memleak uprobes ----

UMALLOC_LEAK = os.path.join(ROOT, "tests", "helpers", "umalloc_leak")
ULEAK = os.path.join(HELPERS, "uleak")


def user_run(args, timeout=60):
    r = subprocess.run([PERF_PROF, "kmemsnoop", "--user", *args], capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r


def test_user_command_counts_known_allocations():
    # 3000 mallocs of 700 bytes, never freed; the run ends when the command does.
    r = user_run(["-i", "200", "--format", "json", "--", UMALLOC_LEAK, "-w", "1", "3000", "700"])
    reports = json_reports(r.stdout)
    assert reports and {o["comm"] for o in reports} == {"umalloc_leak"}, r.stdout[-2000:]
    assert len({o["tgid"] for o in reports}) == 1
    last = reports[-1]
    assert last["exited"], last
    assert last["total_allocs"] >= 3000, last
    assert last["current_bytes"] >= 3000 * 700, last
    assert last["live_objects"] >= 3000 and last["peak_bytes"] >= last["current_bytes"]
    assert 700 in last["alloc_sizes"]
    # Allocated all at once and then idle: not a steady leak.
    assert "leak" not in kinds(reports), [o["anomalies"] for o in reports]


def test_user_large_blocks_counted_once():
    # glibc serves a 1 MB malloc with mmap (and its free with munmap): one block each, not two.
    r = user_run(["-i", "2000", "--format", "json", "--", UMALLOC_LEAK, "-w", "0", "3", str(1 << 20)])
    last = json_reports(r.stdout)[-1]
    assert 3 << 20 <= last["current_bytes"] < (3 << 20) + (64 << 10), last
    assert last["alloc_sizes"].count(1 << 20) == 3, last["alloc_sizes"]
    assert not [s for s in last["alloc_sizes"] if s > 1 << 20], last["alloc_sizes"]
    # 100 scratch blocks of 256 KB, each freed (munmap inside free): every free pairs with its malloc.
    r = user_run(["-i", "5000", "--", ULEAK, "100", str(256 << 10), "1"])
    stats = re.findall(r"^allocs (\d+), frees (\d+), current", r.stdout, re.M)
    assert stats and int(stats[-1][1]) >= 95, r.stdout
    assert "frees without a seen alloc" not in r.stdout, r.stdout


def test_user_steady_leak_is_an_anomaly():
    r = user_run(["-i", "250", "--leak-samples", "4", "--", ULEAK, "400", "1024", "4"])
    heads = re.findall(r"^============ memory report: uleak \(tgid (\d+)(, exited)?\) ============$", r.stdout, re.M)
    assert len(heads) >= 8, r.stdout[-2000:]
    stats = re.findall(rf"^allocs (\d+), frees (\d+), current ({SIZE}), peak ({SIZE}), churn (\d+)$", r.stdout, re.M)
    allocs, frees = int(stats[-1][0]), int(stats[-1][1])
    # ~300 kept objects/s plus one scratch buffer per tick, which is freed.
    assert allocs >= 1000 and frees >= 200 and allocs - frees >= 800, stats[-1]
    assert re.search(r"^ANOMALY leak: current grew in [34] of the last 4 samples \(\+" + SIZE, r.stdout, re.M), \
        r.stdout[-2000:]


def test_user_pid_list():
    a = subprocess.Popen([ULEAK, "300", "512", "3"], stdout=subprocess.DEVNULL)
    b = subprocess.Popen([ULEAK, "300", "2048", "3"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        r = user_run(["-p", f"{a.pid},{b.pid}", "-i", "300", "--format", "json", "--top", "10"])
    finally:
        stop([a, b])
    reports = json_reports(r.stdout)
    last = {o["tgid"]: o for o in reports}
    assert set(last) == {a.pid, b.pid}, set(last)
    for pid, size in ((a.pid, 512), (b.pid, 2048)):
        o = last[pid]
        assert o["exited"] and o["total_frees"] > 0, o
        assert o["current_bytes"] >= 300 * size, o
        assert set(o["alloc_sizes"]) == {size}, o["alloc_sizes"]


def test_user_bad_input():
    cases = [
        ([], "-p PID or -- CMD"),
        (["--cache", "--", "true"], "--cache"),
        (["-p", "1", "--", "true"], "not both"),
        (["-p", "999999999"], "999999999"),
    ]
    for args, word in cases:
        r = perf_prof("kmemsnoop", "--user", *args, "-N", "1", timeout=30)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("perf-prof: ") and word in lines[0], (args, r.stderr)
