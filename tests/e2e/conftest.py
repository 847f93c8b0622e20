"""Shared fixtures for the end-to-end tests: they run perf-prof on the real kernel."""
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PERF_PROF = os.path.join(ROOT, "perf-prof")
LOADGEN = os.path.join(ROOT, "bench", "loadgen")


def run(args, timeout=60, **kw):
    """Run a command, return CompletedProcess with text output."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def perf_prof(*args, timeout=60, **kw):
    return run([PERF_PROF, *args], timeout=timeout, **kw)


@pytest.fixture(scope="session", autouse=True)
def tracefs():
    if subprocess.run(["mountpoint", "-q", "/sys/kernel/tracing"]).returncode != 0:
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=True)
    assert os.path.exists("/sys/kernel/tracing/events/kmem/kmalloc/format")
    assert os.access(PERF_PROF, os.X_OK), "build perf-prof first (make)"


def cgroup2_root():
    with open("/proc/mounts") as f:
        for line in f:
            dev, path, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return path
    return None


@pytest.fixture
def cgroup():
    """A fresh cgroup v2 (name, path): the exact-count tests run their load inside it,
    so nothing else on the machine can change the numbers."""
    root = cgroup2_root()
    if root is None:
        subprocess.run(["mkdir", "-p", "/sys/fs/cgroup/unified"], check=False)
        subprocess.run(["mount", "-t", "cgroup2", "none", "/sys/fs/cgroup/unified"], check=True)
        root = "/sys/fs/cgroup/unified"
    name = "perfprof-test-%d" % os.getpid()
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    yield name, path
    try:
        os.rmdir(path)
    except OSError:
        pass


def in_cgroup(path, *cmd):
    """A command line that moves itself into the cgroup, then runs cmd."""
    return ["sh", "-c", 'echo $$ > %s/cgroup.procs && exec "$@"' % path, "sh", *cmd]


@pytest.fixture
def busy_cpus():
    """Keep every CPU out of idle with nice-19 spinners.

    On this kernel (a haltpoll VM) sched:sched_wakeup / sched_switch hits on CPUs
    waking from idle are counted but often never written as samples; perf record
    shows the same and perf-prof reports them as MISSING. Busy CPUs avoid that,
    so tests of sched-event pairing measure perf-prof rather than the kernel quirk.
    """
    spinners = [subprocess.Popen(["nice", "-n", "19", "sh", "-c", "while :; do :; done"])
                for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for p in spinners:
            p.kill()
            p.wait()
