"""kmemleak on the real kernel: a planted leak of held pipes is found exactly; a balanced load leaks nothing."""
import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import LOADGEN, PERF_PROF, perf_prof

N_PIPES = 200
THAN_S = 0.3

STACK_HEAD = re.compile(r"^(\d+) bytes in (\d+) objects, oldest (\d+\.\d\d)s:$")
EVENT_HEAD = re.compile(r"^kmem:kmalloc: (\d+) stacks, (\d+) bytes in (\d+) objects live( for more than \S+)?$")


@pytest.fixture
def loadgen_copy(tmp_path):
    """loadgen under a unique name: its comm lets a kernel filter keep only its events
    (other loadgens may run on the machine at the same time)."""
    name = "lk%d" % (os.getpid() % 1000000)
    path = tmp_path / name
    shutil.copy(LOADGEN, path)
    return name, str(path)


def specs(comm):
    # The pipe's kmallocs come from alloc_pipe_info: the engine gives the kernel
    # call_site.function == alloc_pipe_info. comm keeps only the helper's own events.
    alloc = 'kmem:kmalloc/call_site==alloc_pipe_info && comm=="%s"/size=bytes_alloc/stack/' % comm
    free = 'kmem:kfree/comm=="%s"/' % comm
    return alloc, free


def parse_text(report):
    """[(bytes, objects, oldest_s, frames)] of every stack block, and the event header."""
    blocks, header = [], None
    for line in report.splitlines():
        m = EVENT_HEAD.match(line)
        if m:
            header = tuple(int(x) for x in m.group(1, 2, 3))
            continue
        m = STACK_HEAD.match(line)
        if m:
            blocks.append((int(m.group(1)), int(m.group(2)), float(m.group(3)), []))
        elif line.startswith("    ") and blocks:
            blocks[-1][3].append(line.split()[1])
    return header, blocks


def run_on_held_pipes(comm, path, out, *extra):
    """Run kmemleak around `loadgen --mode hold`, stop it with SIGINT while the pipes are held."""
    alloc, free = specs(comm)
    p = subprocess.Popen([PERF_PROF, "kmemleak", "--alloc", alloc, "--free", free, "-k", "ptr",
                          "--than", "%dms" % (THAN_S * 1000), "-m", "256", "-o", out, *extra, "--",
                          path, "--mode", "hold", "--hold", str(N_PIPES), "--duration", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.strip() == "held %d pipes" % N_PIPES, (line, p.stderr.read() if p.poll() is not None else "")
        # The leak must get older than --than before the report.
        subprocess.run(["sleep", str(THAN_S + 0.5)])
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    with open(out) as f:
        return f.read()


def test_planted_leak_found_exactly(loadgen_copy, tmp_path):
    comm, path = loadgen_copy
    report = run_on_held_pipes(comm, path, str(tmp_path / "report.txt"))
    header, blocks = parse_text(report)
    pipe = [b for b in blocks if any(f.startswith("alloc_pipe_info+") for f in b[3])]
    assert pipe, report
    # alloc_pipe_info kmallocs once per pipe at each of its call sites (the
    # pipe_inode_info and its buffer array): every one of its stacks holds
    # exactly one object per held pipe, and all of them are older than --than.
    for nbytes, objs, oldest, frames in pipe:
        assert objs == N_PIPES, report
        assert oldest >= THAN_S, report
        assert nbytes % N_PIPES == 0 and nbytes > 0
    # Nothing else passes the filter, so the header is exactly these stacks.
    assert header == (len(pipe), sum(b[0] for b in pipe), N_PIPES * len(pipe)), report


def test_planted_leak_json(loadgen_copy, tmp_path):
    comm, path = loadgen_copy
    report = run_on_held_pipes(comm, path, str(tmp_path / "report.json"), "--format", "json")
    doc = json.loads(report.strip().splitlines()[-1])
    assert doc["than_ns"] == THAN_S * 1e9
    (ev,) = doc["events"]
    assert ev["event"] == "kmem:kmalloc"
    pipe = [s for s in ev["stacks"] if any(f.startswith("alloc_pipe_info+") for f in s["frames"])]
    assert pipe and ev["stacks_total"] == len(pipe)
    for s in pipe:
        assert s["objects"] == N_PIPES
        assert s["oldest_ns"] >= THAN_S * 1e9
    assert ev["objects"] == N_PIPES * len(pipe)


def test_balanced_load_leaks_nothing(loadgen_copy):
    comm, path = loadgen_copy
    alloc, free = specs(comm)
    ops = 2000
    r = perf_prof("kmemleak", "--alloc", alloc, "--free", free, "-k", "ptr", "-m", "256", "-v",
                  "--", path, "--mode", "pipe", "--count", str(ops))
    assert r.returncode == 0, r.stderr
    header, blocks = parse_text(r.stdout)
    # Every pipe was opened and closed: nothing of alloc_pipe_info is live.
    assert header == (0, 0, 0), r.stdout
    assert not [b for b in blocks if any(f.startswith("alloc_pipe_info+") for f in b[3])]
    # ... and the allocations were seen (two kmallocs per pipe), so "nothing" means something.
    seen = int(re.search(r"^kmem:kmalloc: (\d+) samples", r.stderr, re.M).group(1))
    assert seen == 2 * ops, r.stderr
    frees = int(re.search(r"^kmem:kfree: (\d+) samples", r.stderr, re.M).group(1))
    assert frees >= 2 * ops


def test_interval_reports_repeat(loadgen_copy, tmp_path):
    comm, path = loadgen_copy
    report = run_on_held_pipes(comm, path, str(tmp_path / "report.txt"), "-i", "300")
    stamps = re.findall(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$", report, re.M)
    assert len(stamps) >= 2, report
    # The last report (at exit) still sees every held pipe.
    last = report[report.rindex(stamps[-1]):]
    header, _ = parse_text(last)
    assert header[2] % N_PIPES == 0 and header[2] > 0, last


@pytest.mark.parametrize("args, msg", [
    (["--alloc", "kmem:kmalloc//size=bytes_alloc/"], "--free is missing"),
    (["--alloc", "kmem:kmalloc//size=bytes_alloc/", "--free", "kmem:kfree", "-e", "kmem:kfree"], "not both"),
    (["-e", "kmem:kmalloc", "-e", "kmem:kfree", "-k", "ptr"], "needs size="),
    (["-e", "kmem:kmalloc//size=bytes_alloc/", "-e", "kmem:kfree", "-k", "pttr"], "pttr"),
    (["-e", "kmem:kmalloc//size=bytes_alloc/", "-k", "ptr"], "needs -e"),
])
def test_bad_input_is_a_usage_error(args, msg):
    r = perf_prof("kmemleak", *args)
    assert r.returncode == 2, r.stderr
    assert msg in r.stderr
    assert r.stderr.startswith("perf-prof: ")
