"""End-to-end tests of the BPF views: their numbers against the kernel's own files.

Run as root: /usr/bin/python3 -m pytest tests/e2e/test_bpf_views.py
"""
import os
import re
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PERF_PROF = os.path.join(ROOT, "perf-prof")
HELPERS = os.path.join(ROOT, "tests", "bpfhelpers")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="BPF views need root")


def run(args, timeout=30, **kw):
    return subprocess.run([PERF_PROF] + args, capture_output=True, text=True, timeout=timeout, **kw)


def table(out):
    """Parse a header line and the rows under it into dicts (first header wins)."""
    lines = [l for l in out.splitlines() if l.strip()]
    head = lines[0].split()
    rows = []
    for l in lines[1:]:
        f = l.split()
        if len(f) == len(head) and f != head:
            rows.append(dict(zip(head, f)))
    return head, rows


def proc_kb(path, keys):
    vals = {}
    with open(path) as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in keys:
                vals[k] = int(rest.split()[0])
    return vals


def close(a, b, pages=1, pct=1.0):
    """Within `pages` 4 kB pages or pct % of the larger value."""
    return abs(a - b) <= max(pages * 4, max(abs(a), abs(b)) * pct / 100.0)


@pytest.fixture
def memtouch():
    """A process holding 64 MB anon, 16 MB file-backed, 8 MB shmem resident."""
    procs = []

    def start(anon=64, file=16, shm=8):
        p = subprocess.Popen([os.path.join(HELPERS, "memtouch"), str(anon), str(file), str(shm)],
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def bpf_prog_names():
    out = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True).stdout
    return set(re.findall(r"name (\w+)", out))


# ---------------------------------------------------------------- procstat

PROCSTAT_COLS = {  # column -> /proc/PID/status key
    "VSIZE": "VmSize", "SIZE": "VmRSS", "RSSANON": "RssAnon", "RSSFILE": "RssFile",
    "RSSSHMEM": "RssShmem", "VSWAP": "VmSwap", "VDATA": "VmData", "VPTE": "VmPTE", "VSTK": "VmStk",
}


def test_procstat_matches_proc_status(memtouch):
    p = memtouch()
    r = run(["procstat", "-p", str(p.pid), "-i", "300", "-N", "1"])
    status = proc_kb("/proc/%d/status" % p.pid, set(PROCSTAT_COLS.values()))
    assert r.returncode == 0, r.stderr
    head, rows = table(r.stdout)
    assert head[:3] == ["TIME", "PID", "COMM"]
    mine = [row for row in rows if row["PID"] == str(p.pid)]
    assert mine, r.stdout
    row = mine[-1]
    assert row["COMM"] == "memtouch"
    for col, key in PROCSTAT_COLS.items():
        assert close(int(row[col]), status[key]), (col, row[col], key, status[key])
    # The helper's own sizes: the comparison above is not vacuous.
    assert int(row["RSSANON"]) >= 64 * 1024
    assert int(row["RSSSHMEM"]) >= 8 * 1024
    assert int(row["RSSFILE"]) >= 16 * 1024


def test_procstat_rss_only(memtouch):
    p = memtouch(anon=32, file=0, shm=0)
    r = run(["procstat", "-R", "-p", str(p.pid), "-i", "200", "-N", "1"])
    assert r.returncode == 0, r.stderr
    head, rows = table(r.stdout)
    assert head == ["TIME", "PID", "COMM", "SIZE", "RSSANON", "RSSFILE", "RSSSHMEM"]
    status = proc_kb("/proc/%d/status" % p.pid, {"VmRSS", "RssAnon"})
    assert close(int(rows[-1]["SIZE"]), status["VmRSS"])
    assert close(int(rows[-1]["RSSANON"]), status["RssAnon"])


def test_procstat_all_processes_sees_a_busy_one():
    busy = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    try:
        r = run(["procstat", "-i", "300", "-N", "2"])
    finally:
        busy.kill()
        busy.wait()
    assert r.returncode == 0, r.stderr
    _, rows = table(r.stdout)
    assert any(row["PID"] == str(busy.pid) for row in rows)


def test_procstat_no_such_pid():
    r = run(["procstat", "-p", "999999999"])
    assert r.returncode == 2
    assert "no such process 999999999" in r.stderr


def test_procstat_target_exits_mid_run(memtouch):
    p = memtouch(anon=1, file=0, shm=0)
    pp = subprocess.Popen([PERF_PROF, "procstat", "-p", str(p.pid), "-i", "200"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    p.kill()
    p.wait()
    out, err = pp.communicate(timeout=10)
    assert pp.returncode == 0
    assert "all selected processes exited" in err


def test_procstat_sigint_detaches():
    pp = subprocess.Popen([PERF_PROF, "procstat", "-i", "200"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert "on_sched_switch" in bpf_prog_names()
    pp.send_signal(signal.SIGINT)
    pp.communicate(timeout=10)
    assert pp.returncode == 0
    # Programs are freed after an RCU grace period: give the kernel a moment.
    for _ in range(50):
        if "on_sched_switch" not in bpf_prog_names():
            break
        time.sleep(0.1)
    assert "on_sched_switch" not in bpf_prog_names()


def test_procstat_verbose_names_the_hook():
    r = run(["procstat", "-v", "-N", "1", "-i", "100"])
    assert r.returncode == 0
    assert re.search(r"sampling on (kprobe/finish_task_switch|tp_btf/sched_switch)", r.stderr)


# ---------------------------------------------------------------- sysstat

SYSSTAT1 = {
    "ACTIVE": "Active", "INACTVE": "Inactive", "ANON_ACT": "Active(anon)",
    "ANON_INA": "Inactive(anon)", "FILE_ACT": "Active(file)", "FILE_INA": "Inactive(file)",
    "UNEVICT": "Unevictable", "DIRTY": "Dirty", "WRITEBK": "Writeback", "ANONPAG": "AnonPages",
    "MAP": "Mapped", "SHMEM": "Shmem",
}
SYSSTAT2 = {
    "KRECLM": "KReclaimable", "SLAB": "Slab", "SRECLM": "SReclaimable", "SUNRECLM": "SUnreclaim",
    "NFS_UNSTB": "NFS_Unstable", "WBTMP": "WritebackTmp", "ANONHUGE": "AnonHugePages",
    "SHMEMHUGE": "ShmemHugePages",
}


def check_sysstat(extra, cols):
    """Read /proc/meminfo right after each row arrives (the row was sampled
    at that moment, with perf-prof itself mapped in both): every column must
    match meminfo within 1 % in at least one of the rows, so a transient
    burst of dirtying on a busy machine does not decide the test."""
    keys = set(cols.values())
    pp = subprocess.Popen([PERF_PROF, "sysstat"] + extra + ["-i", "300", "-N", "4"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    head = pp.stdout.readline().split()
    assert head[1:] == list(cols), head
    pairs = []
    for line in pp.stdout:
        pairs.append((dict(zip(head, line.split())), proc_kb("/proc/meminfo", keys)))
    pp.wait(timeout=10)
    assert pp.returncode == 0, pp.stderr.read()
    assert len(pairs) == 4
    for col, key in cols.items():
        if key not in pairs[0][1]:  # e.g. NFS_Unstable on kernels that dropped the line
            assert all(int(row[col]) == 0 for row, _ in pairs)
            continue
        seen = [(int(row[col]), mi[key]) for row, mi in pairs]
        assert any(close(v, m) for v, m in seen), (col, key, seen)


def test_sysstat_part1_matches_meminfo():
    check_sysstat([], SYSSTAT1)


def test_sysstat_part2_matches_meminfo():
    check_sysstat(["-n"], SYSSTAT2)


def test_sysstat_sees_shmem_grow(memtouch):
    before = run(["sysstat", "-i", "100", "-N", "1"])
    memtouch(anon=0, file=0, shm=64)
    after = run(["sysstat", "-i", "100", "-N", "1"])
    b = int(table(before.stdout)[1][-1]["SHMEM"])
    a = int(table(after.stdout)[1][-1]["SHMEM"])
    assert a - b >= 60 * 1024, (b, a)


# ---------------------------------------------------------------- pr

def memory_cgroup(name):
    """Create a memory cgroup (v2 if a v2 hierarchy has the controller, else v1).
    Returns (procs_file, cleanup)."""
    v2 = None
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        try:
            with open(os.path.join(root, "cgroup.controllers")) as f:
                if "memory" in f.read().split():
                    v2 = root
                    break
        except OSError:
            pass
    if v2:
        with open(os.path.join(v2, "cgroup.subtree_control"), "w") as f:
            f.write("+memory")
        path = os.path.join(v2, name)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "memory.max"), "w") as f:
            f.write("32M")
    else:
        path = os.path.join("/sys/fs/cgroup/memory", name)
        if not os.path.isdir("/sys/fs/cgroup/memory"):
            pytest.skip("no memory cgroup controller mounted")
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
            f.write(str(32 << 20))
    return os.path.join(path, "cgroup.procs"), lambda: os.rmdir(path)


def test_pr_reports_memcg_reclaim(tmp_path):
    procs, cleanup = memory_cgroup("perfprof-pr-test-%d" % os.getpid())
    data = tmp_path / "big.dat"
    pp = subprocess.Popen([PERF_PROF, "pr", "-i", "200", "-d", "20"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        # 128 MB of page cache in a 32 MB cgroup: the kernel must reclaim (no swap needed).
        subprocess.run(["sh", "-c", 'echo $$ > %s; dd if=/dev/zero of=%s bs=1M count=128 2>/dev/null; '
                        'cat %s > /dev/null' % (procs, data, data)], check=True, timeout=60)
        time.sleep(0.5)
    finally:
        pp.send_signal(signal.SIGINT)
        out, err = pp.communicate(timeout=10)
        data.unlink()
        cleanup()
    assert pp.returncode == 0, err
    head, rows = table(out)
    memcg = [r for r in rows if r["TYPE"] == "memcg" and r["COMM"] in ("dd", "cat")]
    assert memcg, out[:2000]
    reclaimed = sum(int(r["RECLAIMED"]) for r in memcg)
    # At least the overshoot: 128 MB written through a 32 MB limit is > 20000 pages.
    assert reclaimed > 16000, reclaimed
    assert all(int(r["SCANNED"]) >= 0 for r in memcg)
    assert re.search(r"# \d+ passes/batches, [1-9]\d* pages reclaimed", out)


# ---------------------------------------------------------------- paf

def zoneinfo():
    zones, cur = {}, None
    with open("/proc/zoneinfo") as f:
        for line in f:
            m = re.match(r"Node (\d+), zone\s+(\S+)", line)
            if m:
                cur = zones.setdefault((m.group(1), m.group(2)), {})
                continue
            f2 = line.split()
            if cur is not None and len(f2) == 2 and f2[0] in ("min", "low", "high", "present", "managed"):
                cur[f2[0]] = int(f2[1])
            elif cur is not None and f2[:2] == ["pages", "free"]:
                cur["free"] = int(f2[2])
    return zones


def test_paf_zones_match_zoneinfo():
    # Free pages move while paf runs (earlier tests release their memory): the value
    # paf saw must lie between what /proc/zoneinfo says just before and just after.
    before = zoneinfo()
    r = run(["paf", "-i", "200", "-N", "1", "--all-zones"])
    zi = zoneinfo()
    assert r.returncode == 0, r.stderr
    rows = [l.split() for l in r.stdout.splitlines() if l.startswith("zone ")]
    assert len(rows) == len(zi), (rows, zi)
    for _, node, name, mn, lo, hi, present, managed, free in rows:
        z = zi[(node, name)]
        assert (int(mn), int(lo), int(hi)) == (z["min"], z["low"], z["high"]), name
        assert int(present) == z["present"] and int(managed) == z["managed"], name
        lo_free = min(before[(node, name)]["free"], z["free"])
        hi_free = max(before[(node, name)]["free"], z["free"])
        assert close(int(free), lo_free) or close(int(free), hi_free) or lo_free <= int(free) <= hi_free, \
            (name, free, lo_free, hi_free)


def test_paf_decodes_gfp_of_user_faults(memtouch):
    pp = subprocess.Popen([PERF_PROF, "paf", "-i", "1500", "-N", "1"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    memtouch(anon=32, file=0, shm=0)  # anonymous faults allocate GFP_HIGHUSER_MOVABLE pages
    out, err = pp.communicate(timeout=10)
    assert pp.returncode == 0, err
    gfp = [l.split() for l in out.splitlines() if l.startswith("gfp ")]
    assert any("GFP_HIGHUSER_MOVABLE" in g[-1] and int(g[1]) >= 8192 for g in gfp), out
    assert re.search(r"pressure: alloc_failed=\d+ direct_reclaim=\d+ compact=\d+ kswapd_wake=\d+", out)


# ---------------------------------------------------------------- memleak

def leak_line(marker):
    with open(os.path.join(HELPERS, "leaker.c")) as f:
        for n, line in enumerate(f, 1):
            if marker in line:
                return n
    raise AssertionError(marker)


def leak_stacks(out):
    """{stack_id: (total_size, nr_allocs, [frame lines])}"""
    stacks, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"stack_id=(\S+) with outstanding allocations: total_size=(\d+) nr_allocs=(\d+)", line)
        if m:
            cur = stacks[m.group(1)] = (int(m.group(2)), int(m.group(3)), [])
        elif cur and line.startswith("    "):
            cur[2].append(line)
    return stacks


def check_leaks(out, n, size):
    line = leak_line("/* LEAK-LINE */")
    stacks = leak_stacks(out)
    mine = [s for s in stacks.values() if any("leaker.c:%d" % line in f for f in s[2])]
    assert len(mine) == 1, out
    total, count, frames = mine[0]
    assert (total, count) == (n * size, n)
    # Frame format of cli.md: address, symbol+offset, (object), file:line.
    assert re.match(r"    [0-9a-f]{16} leak_one\+0x[0-9a-f]+ \(\S+/leaker\) leaker\.c:%d$" % line, frames[0]), frames
    freed = leak_line("/* FREED-LINE */")
    assert not any("leaker.c:%d" % freed in f for s in stacks.values() for f in s[2])


def test_memleak_command_reports_n_leaks_and_line():
    r = run(["memleak", "--", os.path.join(HELPERS, "leaker"), "37", "123", "--exit"])
    assert r.returncode == 0, r.stderr
    check_leaks(r.stdout, 37, 123)


def test_memleak_pid_reports_n_leaks_and_line():
    p = subprocess.Popen([os.path.join(HELPERS, "leaker"), "25", "1000", "--wait"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        pp = subprocess.Popen([PERF_PROF, "memleak", "-P", str(p.pid), "-i", "300"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        p.stdin.write("go\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "done"
        time.sleep(0.5)
        pp.send_signal(signal.SIGINT)
        out, err = pp.communicate(timeout=10)
    finally:
        p.kill()
        p.wait()
    assert pp.returncode == 0, err
    # Reports are cumulative: the last one holds all 25.
    last = out[out.rindex("Top "):]
    check_leaks(last, 25, 1000)


def test_memleak_without_target_points_to_kmemleak():
    r = run(["memleak"])
    assert r.returncode == 2
    assert "kmemleak" in r.stderr


def test_memleak_no_such_pid():
    r = run(["memleak", "-P", "999999999"])
    assert r.returncode == 2
    assert "no such process" in r.stderr


# ---------------------------------------------------------------- mem_watcher

def test_mem_watcher_sysstat_seed_columns():
    r = run(["mem_watcher", "-s", "--duration", "1.5"])
    assert r.returncode == 0, r.stderr
    head, rows = table(r.stdout)
    assert head == list(SYSSTAT1)
    assert rows
    r = run(["mem_watcher", "-s", "-n", "--duration", "1.5"])
    assert table(r.stdout)[0] == list(SYSSTAT2)


def test_mem_watcher_procstat_rss_for_pid(memtouch):
    p = memtouch(anon=16, file=0, shm=0)
    r = run(["mem_watcher", "-r", "-R", "-P", str(p.pid), "--duration", "1.5"])
    assert r.returncode == 0, r.stderr
    head, rows = table(r.stdout)
    assert head == ["TIME", "PID", "SIZE", "RSSANON", "RSSFILE", "RSSSHMEM"]
    status = proc_kb("/proc/%d/status" % p.pid, {"RssAnon"})
    assert rows and all(row["PID"] == str(p.pid) for row in rows)
    assert close(int(rows[-1]["RSSANON"]), status["RssAnon"])


def test_mem_watcher_paf_and_pr_headers():
    r = run(["mem_watcher", "-a", "--duration", "1.5"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[0].split() == ["MIN", "LOW", "HIGH", "PRESENT", "FLAG"]
    r = run(["mem_watcher", "-p", "--duration", "0.5"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[0].split() == ["RECLAIM", "RECLAIMED", "UNQUEUE", "CONGESTED", "WRITEBACK"]


def test_mem_watcher_bad_usage():
    assert run(["mem_watcher"]).returncode == 2
    assert run(["mem_watcher", "-a", "-s"]).returncode == 2
    r = run(["mem_watcher", "-l"])
    assert r.returncode == 2 and "kmemleak" in r.stderr
    r = run(["mem_watcher", "-i", "100", "-s"])  # no common options
    assert r.returncode == 2


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("view", [["procstat"], ["sysstat"], ["paf"], ["pr"]])
def test_unprivileged_says_what_is_missing(view):
    if subprocess.run(["which", "setpriv"], capture_output=True).returncode:
        pytest.skip("setpriv not installed")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PERF_PROF]
                       + view + ["-N", "1"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert r.stderr.startswith("perf-prof: %s: " % view[0])
    assert "root" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_duration_is_usage_error():
    r = run(["sysstat", "-d", "soon"])
    assert r.returncode == 2
    assert "--duration" in r.stderr
