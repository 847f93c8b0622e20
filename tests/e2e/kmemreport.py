"""Parse kmemprof text reports (pairing.md format) into dicts for the tests."""
import re

TS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
TOTAL = re.compile(r"^(\S+) total (alloc|free) (\d+) bytes on (\d+) objects( but not freed)?$")
ENTRY = re.compile(r"^(Allocate|Free) (\d+) \((\d+\.\d)%\) bytes on (\d+) \((\d+\.\d)%\) objects:$")
UNMATCHED = re.compile(r"^(\d+) frees without a seen alloc$")


def parse(text):
    """List of reports; each: {'time', 'pair', 'sections': [...]}.

    A section: {'event', 'kind' ('alloc'|'free'|'live'), 'bytes', 'objects',
    'stacks': [{'bytes','objects','bpct','opct','frames': [...]}], 'unmatched'}.
    """
    reports, rep, sec, stack = [], None, None, None
    for line in text.splitlines():
        if TS.match(line):
            rep = {"time": line, "pair": None, "sections": []}
            reports.append(rep)
            continue
        if rep is None:
            continue
        if rep["pair"] is None and " => " in line:
            rep["pair"] = line
            continue
        m = TOTAL.match(line)
        if m:
            kind = "live" if m.group(5) else m.group(2)
            sec = {"event": m.group(1), "kind": kind, "bytes": int(m.group(3)),
                   "objects": int(m.group(4)), "stacks": [], "unmatched": 0}
            rep["sections"].append(sec)
            stack = None
            continue
        m = ENTRY.match(line)
        if m and sec is not None:
            stack = {"bytes": int(m.group(2)), "bpct": float(m.group(3)),
                     "objects": int(m.group(4)), "opct": float(m.group(5)), "frames": []}
            sec["stacks"].append(stack)
            continue
        if line.startswith("    ") and stack is not None:
            stack["frames"].append(line.split()[1])
            continue
        m = UNMATCHED.match(line)
        if m and sec is not None:
            sec["unmatched"] = int(m.group(1))
    return reports


def section(report, event, kind):
    for s in report["sections"]:
        if s["event"] == event and s["kind"] == kind:
            return s
    raise KeyError((event, kind))


def stack_with(sec, frame_prefix):
    """Sum of the stacks of a section whose frames include a function starting with prefix."""
    b = o = 0
    for st in sec["stacks"]:
        if any(f.split("+")[0] == frame_prefix for f in st["frames"]):
            b += st["bytes"]
            o += st["objects"]
    return b, o
