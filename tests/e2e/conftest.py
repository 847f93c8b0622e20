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
