"""User callchains (--user-callchain --line) and pprof output (--format pprof).

User frames are only as good as the frame-pointer chain the kernel walks.
glibc has no frame pointers, so at a syscall or page fault inside malloc the
chain stops in libc (checked on this machine: sys_enter_brk/mmap and
exceptions:page_fault_user never show alloc_small_path/alloc_big_path). A
uretprobe on libc's malloc fires with the user registers of the caller, right
after the call returns: the chain then starts in alloc_*_path and walks up
through main. The tests create that probe (and one on free's entry, for
pairing) as tracepoints through tracefs uprobe_events, and remove them after.
"""
import os
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

from conftest import PERF_PROF, ROOT, perf_prof, run

USERMALLOC = os.path.join(ROOT, "tests", "helpers", "usermalloc")
TRACEFS = "/sys/kernel/tracing"
GROUP = "ppucc%d" % os.getpid()
ALLOC = "%s:malloc_ret" % GROUP
FREE = "%s:free_ent" % GROUP
SMALL, BIG = 7, 3


def libc_path():
    out = run(["ldd", USERMALLOC]).stdout
    m = re.search(r"libc\.so\.6 => (\S+)", out)
    assert m, out
    return os.path.realpath(m.group(1))


def file_offset(lib, symbol):
    """File offset of a dynamic symbol, as uprobe_events wants it."""
    syms = run(["nm", "-D", "--defined-only", lib]).stdout
    m = re.search(r"^([0-9a-f]+) [TW] %s(@@\S+)?$" % symbol, syms, re.M)
    assert m, "no %s in %s" % (symbol, lib)
    vaddr = int(m.group(1), 16)
    for line in run(["readelf", "-lW", lib]).stdout.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            off, va, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if va <= vaddr < va + filesz:
                return vaddr - va + off
    raise AssertionError("%s of %s is in no LOAD segment" % (symbol, lib))


def write_uprobe_events(line):
    # One write() per definition, appended (tracefs refuses the seek of open(..., "a")).
    fd = os.open(os.path.join(TRACEFS, "uprobe_events"), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def malloc_probes(tracefs):
    if not os.path.exists(os.path.join(TRACEFS, "uprobe_events")):
        pytest.skip("kernel without CONFIG_UPROBE_EVENTS")
    assert os.access(USERMALLOC, os.X_OK), "build the helpers first (make)"
    lib = libc_path()
    defs = ["r:%s/malloc_ret %s:0x%x ptr=$retval" % (GROUP, lib, file_offset(lib, "malloc")),
            "p:%s/free_ent %s:0x%x ptr=%%di" % (GROUP, lib, file_offset(lib, "free"))]
    for d in defs:
        write_uprobe_events(d)
    yield
    for name in ("malloc_ret", "free_ent"):
        write_uprobe_events("-:%s/%s" % (GROUP, name))


def site_lines(helper_out):
    """{'small': 'usermalloc.c:44', 'big': 'usermalloc.c:55'} from the helper's own report."""
    sites = dict(re.findall(r"^site (small|big) \S*?([^/\s]+:\d+)$", helper_out, re.M))
    assert set(sites) == {"small", "big"}, helper_out
    return sites


def frame_re(func, site):
    # cli.md: "    00007f3c1a2b3c4d malloc+0x1d (/path/obj) file.c:123"
    return re.compile(r"^    [0-9a-f]{16} %s\+0x[0-9a-f]+ \(%s\) %s$"
                      % (func, re.escape(USERMALLOC), re.escape(site)), re.M)


def wait_stderr(proc, needle, timeout=60):
    """Read proc's stderr until it holds needle; returns what was read.

    Raw os.read() on the descriptor: a buffered readline() could hold the
    line already while select() waits for more.
    """
    seen, end, fd = b"", time.time() + timeout, proc.stderr.fileno()
    while needle.encode() not in seen:
        left = end - time.time()
        assert left > 0, "perf-prof did not start: %r" % seen
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 4096)
            assert chunk, "perf-prof exited: %r" % seen
            seen += chunk
    return seen.decode()


def profile_usermalloc(*args):
    """Run perf-prof PROFILER -p <usermalloc> ARGS around one usermalloc run.

    usermalloc waits for SIGUSR1 before allocating, so perf-prof is watching
    before the first malloc. It exits right after allocating; perf-prof is
    stopped a second later (several read rounds), so the report resolves a
    process that has been gone for a while. Returns (perf-prof stdout,
    perf-prof stderr, usermalloc stdout).
    """
    helper = subprocess.Popen([USERMALLOC, "-u", "-w", "0", "-n", str(SMALL), "-b", str(BIG)],
                              stdout=subprocess.PIPE, text=True)
    try:
        first = helper.stdout.readline()
        pid = re.match(r"waiting pid=(\d+)", first).group(1)
        prof = subprocess.Popen([PERF_PROF, *args, "-p", pid, "-v"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            err = wait_stderr(prof, "user symbols:")
            helper.send_signal(signal.SIGUSR1)
            helper_out = first + helper.stdout.read()
            assert helper.wait(timeout=30) == 0
            assert not os.path.exists("/proc/%s" % pid)
            time.sleep(1)
            prof.send_signal(signal.SIGINT)
            out, rest = (b.decode() for b in prof.communicate(timeout=60))
        finally:
            if prof.poll() is None:
                prof.kill()
                prof.wait()
        assert prof.returncode == 0, err + rest
        return out, err + rest, helper_out
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait()


def test_trace_prints_user_functions_and_lines(malloc_probes):
    r = perf_prof("trace", "-e", "%s//stack/" % ALLOC, "--user-callchain", "--line",
                  "--", USERMALLOC, "-w", "0", "-n", "2", "-b", "1")
    assert r.returncode == 0, r.stderr
    sites = site_lines(r.stdout)
    assert frame_re("alloc_small_path", sites["small"]).search(r.stdout), r.stdout[-3000:]
    assert frame_re("alloc_big_path", sites["big"]).search(r.stdout), r.stdout[-3000:]
    # The caller of both, one frame up, with the line of the call in main.
    assert re.search(r"^    [0-9a-f]{16} main\+0x[0-9a-f]+ \(%s\) usermalloc\.c:\d+$"
                     % re.escape(USERMALLOC), r.stdout, re.M)


def test_without_line_no_file_line(malloc_probes):
    r = perf_prof("trace", "-e", "%s//stack/" % ALLOC, "--user-callchain",
                  "--", USERMALLOC, "-w", "0", "-n", "1", "-b", "0")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^    [0-9a-f]{16} alloc_small_path\+0x[0-9a-f]+ \(%s\)$"
                     % re.escape(USERMALLOC), r.stdout, re.M), r.stdout[-3000:]


def test_kernel_only_by_default(malloc_probes):
    """Without --user-callchain a uprobe's chain has no kernel part and no user part."""
    r = perf_prof("trace", "-e", "%s//stack/" % ALLOC,
                  "--", USERMALLOC, "-w", "0", "-n", "1", "-b", "0")
    assert r.returncode == 0, r.stderr
    assert "alloc_small_path" not in r.stdout


def section(out, title_re):
    """The lines of the report section whose header matches title_re, up to the blank line."""
    m = re.search(title_re + r"\n(.*?)(?:\n\n|\Z)", out, re.S)
    assert m, out
    return m.group(0)


def test_exited_process_resolved_in_kmemprof(malloc_probes):
    out, err, helper_out = profile_usermalloc(
        "kmemprof", "-e", "%s//size=1/stack/" % ALLOC, "-e", FREE, "-k", "ptr",
        "--user-callchain", "--line", "--top", "100")
    sites = site_lines(helper_out)
    live = section(out, r"%s total alloc \d+ bytes on \d+ objects but not freed" % ALLOC)
    # usermalloc never frees: every allocation of both paths is still live, each path one stack.
    small = re.search(r"Allocate (\d+) \S+ bytes on (\d+) \S+ objects:\n(    .*alloc_small_path.*)\n", live)
    big = re.search(r"Allocate (\d+) \S+ bytes on (\d+) \S+ objects:\n(    .*alloc_big_path.*)\n", live)
    assert small and big, live
    assert (int(small.group(2)), int(big.group(2))) == (SMALL, BIG), live
    assert frame_re("alloc_small_path", sites["small"]).search(small.group(3) + "\n"), live
    assert frame_re("alloc_big_path", sites["big"]).search(big.group(3) + "\n"), live


def test_exited_process_resolved_in_kmemleak(malloc_probes):
    out, err, helper_out = profile_usermalloc(
        "kmemleak", "--alloc", "%s//size=1/stack/" % ALLOC, "--free", FREE, "-k", "ptr",
        "--user-callchain", "--line", "--top", "100")
    sites = site_lines(helper_out)
    assert frame_re("alloc_small_path", sites["small"]).search(out), out
    assert frame_re("alloc_big_path", sites["big"]).search(out), out


def test_stacks_of_two_processes_stay_apart(malloc_probes):
    """Same binary, same addresses in two processes: two stacks, each resolved in its process."""
    r = perf_prof("kmemprof", "-e", "%s//size=1/stack/" % ALLOC, "-e", FREE, "-k", "ptr",
                  "--user-callchain", "--top", "1000", "--",
                  "sh", "-c", "%s -w 0 -n 3 -b 0 && %s -w 0 -n 3 -b 0" % (USERMALLOC, USERMALLOC))
    assert r.returncode == 0, r.stderr
    live = section(r.stdout, r"%s total alloc \d+ bytes on \d+ objects but not freed" % ALLOC)
    counts = re.findall(r"Allocate \d+ \S+ bytes on (\d+) \S+ objects:\n    \S+ alloc_small_path", live)
    assert counts == ["3", "3"], live


# ---- pprof ----

needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="go tool pprof needs golang-go (make deps)")


def pprof_top(path, sample_index):
    r = run(["go", "tool", "pprof", "-top", "-sample_index=" + sample_index, path],
            env=dict(os.environ, HOME=os.environ.get("HOME", "/root")))
    assert r.returncode == 0, r.stderr
    m = re.search(r"^Showing nodes accounting for .* of (\S+?)(B)? total$", r.stdout, re.M)
    assert m, r.stdout
    return int(m.group(1)), r.stdout


def text_totals(out, event):
    alloc = re.search(r"^%s total alloc (\d+) bytes on (\d+) objects$" % event, out, re.M)
    live = re.search(r"^%s total alloc (\d+) bytes on (\d+) objects but not freed$" % event, out, re.M)
    assert alloc and live, out
    return {"alloc_space": int(alloc.group(1)), "alloc_objects": int(alloc.group(2)),
            "inuse_space": int(live.group(1)), "inuse_objects": int(live.group(2))}


@needs_go
def test_kmemprof_pprof_totals_match_text(malloc_probes, tmp_path):
    args = ["kmemprof", "-e", "%s//size=1/stack/" % ALLOC, "-e", FREE, "-k", "ptr",
            "--user-callchain", "--line"]
    text, _, _ = profile_usermalloc(*args)
    want = text_totals(text, ALLOC)
    assert want["alloc_objects"] >= SMALL + BIG, text
    path = str(tmp_path / "kmemprof.pb.gz")
    out, err, _ = profile_usermalloc(*args, "--format", "pprof", "-o", path)
    assert "total alloc" not in out
    with open(path, "rb") as f:
        assert f.read(2) == b"\x1f\x8b", "not gzip"
    for index, value in want.items():
        got, top = pprof_top(path, index)
        assert got == value, (index, top, text)
    _, top = pprof_top(path, "inuse_objects")
    assert re.search(r"^\s+%d\s.*alloc_small_path$" % SMALL, top, re.M), top
    assert re.search(r"^\s+%d\s.*alloc_big_path$" % BIG, top, re.M), top


@needs_go
def test_kmemleak_pprof_totals_match_text(malloc_probes, tmp_path):
    args = ["kmemleak", "--alloc", "%s//size=1/stack/" % ALLOC, "--free", FREE, "-k", "ptr",
            "--user-callchain"]
    text, _, _ = profile_usermalloc(*args)
    m = re.search(r"^%s: \d+ stacks, (\d+) bytes in (\d+) objects live" % ALLOC, text, re.M)
    assert m, text
    path = str(tmp_path / "kmemleak.pb.gz")
    profile_usermalloc(*args, "--format", "pprof", "-o", path)
    assert pprof_top(path, "inuse_space")[0] == int(m.group(1))
    assert pprof_top(path, "inuse_objects")[0] == int(m.group(2))
    # kmemleak keeps no freed allocations: the alloc_* types are there, and zero.
    assert pprof_top(path, "alloc_space")[0] == 0
    assert pprof_top(path, "alloc_objects")[0] == 0


@pytest.mark.parametrize("prof", ["kmemprof", "kmemleak"])
def test_pprof_needs_output_file(prof):
    r = perf_prof(prof, "-e", "kmem:kmalloc//size=bytes_alloc/", "-e", "kmem:kfree", "-k", "ptr",
                  "--format", "pprof")
    assert r.returncode == 2
    assert r.stderr.startswith("perf-prof: ") and "-o FILE" in r.stderr
    assert r.stderr.count("\n") == 1


def test_pprof_not_offered_elsewhere():
    r = perf_prof("multi-trace", "-e", "kmem:kmalloc", "-e", "kmem:kfree",
                  "-k", "ptr", "--format", "pprof", "-o", "/dev/null")
    assert r.returncode == 2 and "pprof" in r.stderr
