"""kmemprof on the real kernel, checked against ground truth from the load generator and perf stat."""
import json
import re

import pytest

from conftest import LOADGEN, PERF_PROF, in_cgroup, perf_prof, run
from kmemreport import parse, section, stack_with

ALLOC = "kmem:kmalloc//size=bytes_alloc/stack/"
FREE = "kmem:kfree//stack/"


def kmemprof(*args, timeout=90):
    r = perf_prof("kmemprof", "-e", ALLOC, "-e", FREE, "-k", "ptr", "--order", "-m", "1024", *args,
                  timeout=timeout)
    assert r.returncode == 0, r.stderr
    # Pairing checks below are exact only if nothing was dropped.
    assert "LOST" not in r.stdout, r.stdout[-2000:]
    return r


def test_planted_leak_is_not_freed_then_freed():
    """N pipes held for 2.5 s: the alloc_pipe_info stack holds >= N live objects while they
    are open; once they are closed the frees show up and the live objects are gone."""
    n = 300
    r = kmemprof("-i", "1000", "--top", "20", "--", LOADGEN, "--mode", "hold", "--hold", str(n),
                 "--duration", "2.5")
    reports = parse(r.stdout)
    assert len(reports) >= 3, r.stdout[-3000:]
    held = section(reports[1], "kmem:kmalloc", "live")
    _, live_objs = stack_with(held, "alloc_pipe_info")
    assert live_objs >= n, held
    last = reports[-1]
    _, live_after = stack_with(section(last, "kmem:kmalloc", "live"), "alloc_pipe_info")
    assert live_after < n / 10, live_after
    freed = section(last, "kmem:kfree", "free")
    _, freed_objs = stack_with(freed, "free_pipe_info")
    assert freed_objs >= n


def test_balanced_load_allocs_equal_frees_up_to_in_flight(cgroup):
    """Only the load's cgroup is watched, so other pipes on the machine do not count."""
    name, path = cgroup
    r = kmemprof("--top", "20", "--cgroups", name, "--",
                 *in_cgroup(path, LOADGEN, "--mode", "pipe", "--workers", "2", "--count", "40000"))
    rep = parse(r.stdout)[-1]
    alloc = section(rep, "kmem:kmalloc", "alloc")
    free = section(rep, "kmem:kfree", "free")
    _, a_objs = stack_with(alloc, "alloc_pipe_info")
    _, f_objs = stack_with(free, "free_pipe_info")
    _, f2_objs = stack_with(free, "pipe_release")
    assert a_objs >= 2 * 40000
    # Each pipe op allocates two objects in alloc_pipe_info and frees both in pipe_release
    # (one through free_pipe_info); at most a few pipes are in flight at the window edges.
    assert abs(a_objs - f2_objs) <= 16, (a_objs, f_objs, f2_objs)
    _, live = stack_with(section(rep, "kmem:kmalloc", "live"), "alloc_pipe_info")
    assert live <= 16


def test_totals_match_perf_stat(cgroup):
    name, path = cgroup
    inner = ["perf", "stat", "-x,", "-a", "-e", "kmem:kmalloc", "-G", name, "--",
             *in_cgroup(path, LOADGEN, "--mode", "pipe", "--workers", "2", "--count", "50000")]
    r = run([PERF_PROF, "kmemprof", "-e", ALLOC, "-e", FREE, "-k", "ptr", "--cgroups", name,
             "-m", "1024", "--order", "--", *inner], timeout=120)
    assert r.returncode == 0, r.stderr
    assert "LOST" not in r.stdout
    want = int([l for l in r.stderr.splitlines() if "kmem:kmalloc" in l][-1].split(",")[0])
    got = section(parse(r.stdout)[-1], "kmem:kmalloc", "alloc")["objects"]
    assert want >= 100000
    assert abs(got - want) <= 0.01 * want, (got, want)


def test_percentages_and_top_stack():
    r = kmemprof("--top", "50", "--", LOADGEN, "--mode", "pipe", "--workers", "2", "--duration", "2")
    rep = parse(r.stdout)[-1]
    for sec in rep["sections"]:
        assert sum(s["bpct"] for s in sec["stacks"]) <= 100.0 + 1e-9
        assert sum(s["opct"] for s in sec["stacks"]) <= 100.0 + 1e-9
        for st in sec["stacks"]:
            want = int(st["bytes"] * 1000 / sec["bytes"]) / 10 if sec["bytes"] else 0.0
            assert abs(st["bpct"] - want) < 0.05
        b = [s["bytes"] for s in sec["stacks"]]
        assert b == sorted(b, reverse=True)
    alloc = section(rep, "kmem:kmalloc", "alloc")
    assert "alloc_pipe_info" in [f.split("+")[0] for f in alloc["stacks"][0]["frames"]]


def test_without_order_unmatched_frees_are_counted():
    r = perf_prof("kmemprof", "-e", ALLOC, "-e", FREE, "-k", "ptr", "-m", "256", "--",
                  LOADGEN, "--mode", "pipe", "--workers", "2", "--duration", "2", timeout=60)
    assert r.returncode == 0, r.stderr
    rep = parse(r.stdout)[-1]
    free = section(rep, "kmem:kfree", "free")
    assert free["objects"] > 0
    assert re.search(r"^\d+ frees without a seen alloc$", r.stdout, re.M)


def test_skipping_line_names_the_rest():
    r = kmemprof("--top", "2", "--", LOADGEN, "--mode", "pipe", "--duration", "1")
    rep = parse(r.stdout)[-1]
    assert len(section(rep, "kmem:kmalloc", "alloc")["stacks"]) == 2
    assert re.search(r"^Skipping alloc numbered 3\.\.\d+$", r.stdout, re.M)


def test_page_alloc_pairs_by_pfn():
    r = perf_prof("kmemprof", "-e", "kmem:mm_page_alloc//size=4096<<order/key=pfn/stack/",
                  "-e", "kmem:mm_page_free//key=pfn/stack/", "--order", "-m", "512", "--",
                  LOADGEN, "--mode", "pipe", "--duration", "1", timeout=60)
    assert r.returncode == 0, r.stderr
    rep = parse(r.stdout)[-1]
    alloc = section(rep, "kmem:mm_page_alloc", "alloc")
    free = section(rep, "kmem:mm_page_free", "free")
    assert alloc["objects"] > 1000 and alloc["bytes"] >= 4096 * alloc["objects"]
    # Frees take their size from the paired alloc: paired frees are whole pages.
    assert free["bytes"] % 4096 == 0 and free["bytes"] > 0


def test_json_format_one_object_per_report():
    r = kmemprof("--format", "json", "-i", "500", "--", LOADGEN, "--mode", "pipe", "--duration", "1.2")
    objs = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    assert len(objs) >= 2
    last = objs[-1]
    assert last["alloc"][0]["event"] == "kmem:kmalloc"
    assert last["alloc"][0]["objects"] >= sum(s["objects"] for s in last["alloc"][0]["stacks"])
    assert all(isinstance(f, str) for s in last["alloc"][0]["stacks"] for f in s["frames"])


def test_folded_format_for_flame_graphs():
    r = kmemprof("--format", "folded", "--", LOADGEN, "--mode", "pipe", "--duration", "1")
    lines = [l for l in r.stdout.splitlines() if not l.startswith("loadgen:")]
    assert lines
    for l in lines:
        assert re.match(r"^kmem:(kmalloc|kfree)(;[^; ]+)+ \d+$", l), l
    assert any("alloc_pipe_info;__kmalloc" in l for l in lines)


BAD = [
    (["-e", "kmem:kmalloc//stack/", "-e", FREE, "-k", "ptr"], "size="),
    (["-e", ALLOC, "-k", "ptr"], "-e"),
    (["-e", ALLOC, "-e", FREE], "-k"),
    (["-e", "kmem:kmalloc//size=byts/", "-e", FREE, "-k", "ptr"], "byts"),
    (["-e", "kmem:kmalloc_node//size=bytes_alloc/", "-e", FREE, "-k", "ptr"], "kmem:kmalloc"),
    (["-e", ALLOC, "-e", FREE, "-k", "ptr", "--top", "0"], "--top"),
    (["-e", ALLOC, "-e", FREE, "-k", "ptr", "--format", "pprof"], "pprof"),
]


def test_bad_inputs_exit_2():
    for args, culprit in BAD:
        r = perf_prof("kmemprof", *args, timeout=20)
        assert r.returncode == 2, (args, r.stderr)
        assert culprit in r.stderr.splitlines()[0], (args, r.stderr)


MANUAL = [
    (["-e", ALLOC, "-e", FREE, "-k", "ptr"], ["kmem:kmalloc"], ["kmem:kfree"]),
    (["-e", "kmem:kmalloc//size=bytes_alloc/stack/,kmem:kmem_cache_alloc//size=bytes_alloc/stack/",
      "-e", "kmem:kfree//stack/,kmem:kmem_cache_free//stack/", "-k", "ptr"],
     ["kmem:kmalloc", "kmem:kmem_cache_alloc"], ["kmem:kfree", "kmem:kmem_cache_free"]),
    (["-e", "kmem:mm_page_alloc//size=4096<<order/key=pfn/stack/", "-e", "kmem:mm_page_free//key=pfn/stack/"],
     ["kmem:mm_page_alloc"], ["kmem:mm_page_free"]),
    (["-e", "percpu:percpu_alloc_percpu//size=bytes_alloc/key=ptr/stack/",
      "-e", "percpu:percpu_free_percpu//key=ptr/"], ["percpu:percpu_alloc_percpu"], ["percpu:percpu_free_percpu"]),
    (["-e", "vmalloc:alloc_vmap_area/failed==0/size=size/key=addr/stack/",
      "-e", "vmalloc:free_vmap_area_noflush//key=va_start/"],
     ["vmalloc:alloc_vmap_area"], ["vmalloc:free_vmap_area_noflush"]),
    (["-e", "kmem:kmalloc/bytes_alloc>1024/size=bytes_alloc/stack/", "-e", "kmem:kfree", "-k", "ptr"],
     ["kmem:kmalloc"], ["kmem:kfree"]),
    (["-e", "kmem:kmalloc/call_site==alloc_pipe_info/size=bytes_alloc/stack/", "-e", "kmem:kfree", "-k", "ptr"],
     ["kmem:kmalloc"], ["kmem:kfree"]),
]

# A load that touches every allocator above: pipes (kmalloc, slab, pages), threads
# (percpu counters, vmalloc'ed stacks).
MIXED_LOAD = ["sh", "-c", "%s --mode pipe --duration 1 --workers 2 >/dev/null; "
              "for i in 1 2 3 4 5 6 7 8; do %s --mode sleeper --duration 0.05 --workers 4 >/dev/null; done"
              % (LOADGEN, LOADGEN)]


@pytest.mark.parametrize("args,starts,ends", MANUAL, ids=[a[1] for a, _, _ in MANUAL])
def test_manual_command_lines(args, starts, ends):
    r = perf_prof("kmemprof", *args, "--order", "-m", "512", "--", *MIXED_LOAD, timeout=60)
    assert r.returncode == 0, r.stderr
    rep = parse(r.stdout)[-1]
    assert rep["pair"] == "%s => %s" % (",".join(starts), ",".join(ends))
    for ev in starts:
        alloc = section(rep, ev, "alloc")
        assert alloc["objects"] > 0, (ev, alloc)
        section(rep, ev, "live")
    for ev in ends:
        assert section(rep, ev, "free")["objects"] > 0, ev
    if "call_site==alloc_pipe_info" in args[1]:
        alloc = section(rep, "kmem:kmalloc", "alloc")
        assert all("alloc_pipe_info" in [f.split("+")[0] for f in st["frames"]] for st in alloc["stacks"])
