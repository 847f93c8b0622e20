"""The expr profiler and user-space filters on the real kernel."""
import difflib
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import LOADGEN, PERF_PROF, in_cgroup, perf_prof, run

EXPR_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \[\d{3}\] .+/(\d+) ([\w:]+): (.*)$")


def start_bg(*args):
    """Start perf-prof in the background and give it time to enable its events."""
    p = subprocess.Popen([PERF_PROF, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    return p


def stop_bg(p):
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    return out, err


TRACE_KMALLOC = re.compile(r"^\S+ \S+ \[(\d{3})\] .* kmem:kmalloc: .*? bytes_alloc=(\d+) ")
EXPR_VALUE = re.compile(r"^\S+ \S+ \[(\d{3})\] .+/\d+ \S+: (-?\d+) ")


def test_expr_values_match_trace(cgroup):
    """trace and expr 'bytes_alloc' watch the kmallocs of one cgroup at the same time:
    the same (cpu, value) sequence, up to the odd event a busy VM may cost one side."""
    name, path = cgroup
    bg = start_bg("trace", "-e", "kmem:kmalloc", "--cgroups", name, "--order", "-m", "1024")
    r = perf_prof("expr", "-e", "kmem:kmalloc", "bytes_alloc", "--cgroups", name, "--order", "-m", "1024",
                  "--", *in_cgroup(path, LOADGEN, "--mode", "pipe", "--count", "5000", "--rate", "5000"))
    out, _ = stop_bg(bg)
    assert r.returncode == 0, r.stderr
    assert "LOST" not in out + r.stdout
    got = [(m.group(1), int(m.group(2))) for m in map(EXPR_VALUE.match, r.stdout.splitlines()) if m]
    want = [(m.group(1), int(m.group(2))) for m in map(TRACE_KMALLOC.match, out.splitlines()) if m]
    assert len(want) >= 10000
    assert len({v for _, v in want}) >= 2
    ratio = difflib.SequenceMatcher(None, got, want, autojunk=False).ratio()
    assert ratio >= 0.99, (ratio, len(got), len(want))


def test_expr_sched_wakeup_pid_is_the_woken_thread(busy_cpus):
    """expr 'pid' on the wake-ups of one sleeper thread prints that thread's id."""
    p = subprocess.Popen([LOADGEN, "--mode", "sleeper", "--period-ms", "2", "--workers", "1",
                          "--duration", "0"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            workers = [int(t) for t in os.listdir("/proc/%d/task" % p.pid) if int(t) != p.pid]
            if workers:
                break
            time.sleep(0.01)
        tid = workers[0]
        r = perf_prof("expr", "-e", "sched:sched_wakeup/comm==\"loadgen\" && pid!=%d/" % p.pid, "pid",
                      "-N", "100", timeout=30)
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=10)
    assert r.returncode == 0, r.stderr
    vals = [int(m.group(2)) for m in map(EXPR_VALUE.match, r.stdout.splitlines()) if m]
    assert len(vals) == 100
    assert set(vals) == {tid}


def test_expr_kmalloc_slack_never_negative():
    r = perf_prof("expr", "-e", "kmem:kmalloc", "bytes_alloc - bytes_req", "-N", "3000", "--",
                  LOADGEN, "--mode", "pipe", "--duration", "5")
    assert r.returncode == 0, r.stderr
    vals = [int(m.group(3).split()[0]) for m in map(EXPR_LINE.match, r.stdout.splitlines()) if m]
    assert len(vals) == 3000
    assert min(vals) >= 0
    assert max(vals) > 0


def kallsyms_range(name):
    syms = []
    with open("/proc/kallsyms") as f:
        for line in f:
            a, t, n = line.split()[:3]
            syms.append((int(a, 16), n))
    syms.sort()
    for i, (a, n) in enumerate(syms):
        if n == name:
            nxt = next(b for b, _ in syms[i + 1:] if b > a)
            return a, nxt
    raise KeyError(name)


def test_ksymbol_filter_takes_the_user_path_and_selects_one_call_site():
    """The call sites the filter lets through, printed as numbers by expr, all lie inside
    alloc_pipe_info according to /proc/kallsyms (not our own symbol table)."""
    lo, hi = kallsyms_range("alloc_pipe_info")
    r = perf_prof("expr", "-v", "-e", 'kmem:kmalloc/ksymbol(call_site)=="alloc_pipe_info"/', "call_site",
                  "-N", "200", "--", LOADGEN, "--mode", "pipe", "--duration", "5")
    assert r.returncode == 0, r.stderr
    assert "user space" in r.stderr
    # Integers print as "decimal (0xhex)"; a kernel address is negative as a signed 64-bit value.
    sites = [int(re.search(r"\((0x[0-9a-f]+)\)", m.group(3)).group(1), 16)
             for m in map(EXPR_LINE.match, r.stdout.splitlines()) if m]
    assert len(sites) == 200
    assert all(lo <= s < hi for s in sites)


def test_trace_prints_call_sites_as_symbols():
    r = perf_prof("trace", "-e", 'kmem:kmalloc/call_site==alloc_pipe_info/', "-N", "20",
                  "--", LOADGEN, "--mode", "pipe", "--duration", "5")
    assert r.returncode == 0, r.stderr
    sites = re.findall(r"call_site=(\S+)", r.stdout)
    assert len(sites) == 20
    assert all(re.match(r"^alloc_pipe_info\+0x[0-9a-f]+$", s) for s in sites), sites


def test_kernel_and_user_filters_agree(cgroup, tmp_path):
    """bytes_alloc>=1024 in the kernel and (u64)bytes_alloc>=1024 in user space, same load."""
    name, path = cgroup
    bg = start_bg("trace", "-v", "-e", "kmem:kmalloc/bytes_alloc>=1024/", "--cgroups", name, "-m", "1024")
    r = perf_prof("trace", "-v", "-e", "kmem:kmalloc/(u64)bytes_alloc>=1024/", "--cgroups", name, "-m", "1024",
                  "--", *in_cgroup(path, LOADGEN, "--mode", "pipe", "--count", "20000", "--rate", "10000"))
    out, err = stop_bg(bg)
    assert r.returncode == 0, r.stderr
    assert "filter 'bytes_alloc>=1024': kernel" in err
    assert "user space" in r.stderr
    k = out.count(" kmem:kmalloc: ")
    u = r.stdout.count(" kmem:kmalloc: ")
    assert "LOST" not in out + r.stdout
    assert k >= 20000
    assert abs(k - u) <= 0.01 * k, (k, u)


def test_runtime_faults_are_counted_not_fatal():
    r = perf_prof("expr", "-e", "kmem:kmalloc", "bytes_alloc / (bytes_req - bytes_req)", "-N", "50")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^expr errors: 50 \(first: division by zero in ", r.stdout, re.M)


def test_printf_replaces_the_default_line():
    r = perf_prof("expr", "-e", "kmem:kmalloc", 'printf("req=%d alloc=%d\\n", bytes_req, bytes_alloc)',
                  "-N", "20", "--", LOADGEN, "--mode", "pipe", "--duration", "5")
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if not l.startswith("loadgen:")]
    assert len(lines) == 20
    assert all(re.match(r"^req=\d+ alloc=\d+$", l) for l in lines)


BAD = [
    ("(bytes_alloc))", 13), ("bytes_alloc +", 13), ("byts", 0), ("1 / ", 4), ("(foo)bytes_alloc", 1),
    ("bytes_alloc ? 1", 15), ("*bytes_alloc", 0), ("ptr[", 4), ("\"abc\" + 1", 6), ("ksymbol()", 8),
    ("ntohl(1, 2)", 0), ("sizeof(foo)", 7), ("1 +* 2", 4), ("bytes_alloc $ 2", 12), ("'ab'", 0),
    ("0x", 0), ("strncmp(1, 2)", 0), ("printf(1)", 7), ("call_site = 1", 10), ("((((1)))", 8),
    ("", 0), ("bytes_alloc..1", 11),
]


@pytest.mark.parametrize("text,_col", BAD, ids=[t or "<empty>" for t, _ in BAD])
def test_bad_expression_exit_2_with_caret(text, _col):
    r = perf_prof("expr", "-e", "kmem:kmalloc", text, timeout=20)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.rstrip("\n").split("\n")
    assert len(lines) == 3, r.stderr
    assert lines[0].startswith("perf-prof: expr: kmem:kmalloc: ")
    assert lines[1] == "    " + text
    caret = lines[2].index("^") - 4
    assert 0 <= caret <= len(text)
    m = re.search(r" at (\d+)$", lines[0])
    assert m and int(m.group(1)) == caret + 1
