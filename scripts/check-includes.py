#!/usr/bin/env python3
"""The include graph of the parts (docs/architecture.md, "Parts and what each may include").

A part is a folder under src/. Every `#include "..."` line of src/*/*.[ch] and of the public
headers include/gtee/*.h is an edge from the including file's part to the included file's part:
"<part>/x.h" names its part; a public header "gtee/x.h" belongs to the part that implements it,
as the table of public headers in docs/architecture.md says. Fails (exit 1), naming each file
and line, on:
  - an include of a header the tables do not know (a new public header must be placed);
  - an include that the allowed-dependency table does not allow (a part named there as
    "name(api)" may be included through its public headers gtee/*.h only, never through
    its internal ones: how an application shows it is built on the public SDK);
  - any cycle between parts (checked on the graph as found, so it holds even if someone
    widens the table into a cycle);
  - a part under src/ or a public header missing from the tables, or a table naming a part
    or header that does not exist.
Usage: check-includes.py [ROOT] [--doc FILE] [--print]; ROOT defaults to the checkout.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def fail(msgs):
    for m in msgs:
        print("check-includes: " + m, file=sys.stderr)
    sys.exit(1)


def parse_doc(path):
    """The two fenced blocks of docs/architecture.md: ```parts (part: allowed parts) and
    ```headers (gtee/x.h: part)."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        fail([f"cannot read {path}: {e.strerror}"])
    blocks = {}
    for m in re.finditer(r"^```(parts|headers)\n(.*?)^```", text, re.S | re.M):
        if m.group(1) in blocks:
            fail([f"{path}: two ```{m.group(1)} blocks"])
        blocks[m.group(1)] = m.group(2)
    errs = [f"{path}: no ```{k} block" for k in ("parts", "headers") if k not in blocks]
    if errs:
        fail(errs)
    allowed, owner = {}, {}
    for n, line in enumerate(blocks["parts"].splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([a-z0-9_]+)\s*:\s*(.*)", line)
        if not m or m.group(1) in allowed:
            fail([f"{path}: parts block line {n}: expected 'part: part part ...' once per part, got '{line}'"])
        deps = set()
        for d in m.group(2).split():
            api = re.fullmatch(r"([a-z0-9_]+)\(api\)", d)
            deps.add((api.group(1), "api") if api else (d, "all"))
        allowed[m.group(1)] = deps
    for n, line in enumerate(blocks["headers"].splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"(gtee/[a-z0-9_]+\.h)\s*:\s*([a-z0-9_]+)", line)
        if not m or m.group(1) in owner:
            fail([f"{path}: headers block line {n}: expected 'gtee/x.h: part' once per header, got '{line}'"])
        owner[m.group(1)] = m.group(2)
    return allowed, owner


def reach(graph, u):
    seen, todo = set(), [u]
    while todo:
        for v in graph.get(todo.pop(), ()):
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return seen


def path(graph, a, b):
    """A shortest path a -> ... -> b as a list of parts."""
    prev, todo = {a: None}, [a]
    while todo:
        u = todo.pop(0)
        for v in sorted(graph.get(u, ())):
            if v not in prev:
                prev[v] = u
                todo.append(v)
    out, u = [b], b
    while u != a:
        u = prev[u]
        out.append(u)
    return out[::-1]


def find_cycles(graph):
    """For each group of parts that reach each other: the group, and one cycle through it (a
    list of parts, first repeated last), so every independent cycle is named at once."""
    r = {u: reach(graph, u) for u in graph}
    done, cycles = set(), []
    for u in sorted(graph):
        if u in done or u not in r[u]:
            continue
        group = {v for v in r[u] if u in r[v]}
        done |= group
        v = min(w for w in graph[u] if u in r[w] or w == u)
        cycles.append((sorted(group), [u] + (path(graph, v, u) if v != u else [u])))
    return cycles


def main(argv):
    root, doc, show = None, None, False
    args = iter(argv)
    for a in args:
        if a == "--doc":
            doc = next(args, None)
            if doc is None:
                fail(["--doc needs a file"])
        elif a == "--print":
            show = True
        elif a.startswith("-") or root is not None:
            print("usage: check-includes.py [ROOT] [--doc FILE] [--print]", file=sys.stderr)
            return 2
        else:
            root = a
    if root is None:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    if doc is None:
        doc = os.path.join(root, "docs", "architecture.md")
    allowed, owner = parse_doc(doc)
    errs = []
    src = os.path.join(root, "src")
    inc = os.path.join(root, "include", "gtee")
    parts = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    headers = sorted("gtee/" + f for f in os.listdir(inc) if f.endswith(".h"))
    errs += [f"src/{p}/ is a part the parts table of {doc} does not list" for p in parts if p not in allowed]
    errs += [f"the parts table lists '{p}', which is no folder under src/" for p in allowed if p not in parts]
    api_only = {p: {d for d, how in deps if how == "api"} for p, deps in allowed.items()}
    allowed = {p: {d for d, _ in deps} for p, deps in allowed.items()}
    for p, deps in allowed.items():
        errs += [f"the parts table lets '{p}' include '{d}', which is no part" for d in deps if d not in allowed]
    errs += [f"include/{h} is a public header the headers table of {doc} does not place" for h in headers
             if h not in owner]
    errs += [f"the headers table places '{h}', which is no public header" for h in owner if h not in headers]
    errs += [f"the headers table gives '{h}' to '{p}', which is no part" for h, p in owner.items() if p not in allowed]
    if errs:
        fail(errs)

    files = [(p, f"src/{p}/{f}") for p in parts for f in sorted(os.listdir(os.path.join(src, p)))
             if f.endswith((".c", ".h"))]
    files += [(owner[h], "include/" + h) for h in headers]
    graph = {p: set() for p in parts}
    where = {}
    for part, rel in files:
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                name = m.group(1)
                if name.startswith("gtee/"):
                    to = owner.get(name)
                    if to is None:
                        errs.append(f"{rel}:{n}: includes {name}, which is no public header")
                        continue
                elif "/" in name and name.split("/", 1)[0] in allowed:
                    to = name.split("/", 1)[0]
                    if not os.path.isfile(os.path.join(src, name)):
                        errs.append(f"{rel}:{n}: includes {name}, which is no file under src/")
                        continue
                elif "/" not in name and rel.startswith("src/") and os.path.isfile(
                        os.path.join(root, os.path.dirname(rel), name)):
                    to = part  # a header beside the file
                elif name == "onnx.pb-c.h" and part == "ml":
                    continue  # the ONNX reader that the build generates for the ML engine
                else:
                    errs.append(f"{rel}:{n}: includes \"{name}\", which belongs to no part")
                    continue
                if to == part:
                    continue
                graph[part].add(to)
                where.setdefault((part, to), f"{rel}:{n}")
                if to not in allowed[part]:
                    errs.append(f"{rel}:{n}: part '{part}' includes {name} of part '{to}', which "
                                f"docs/architecture.md does not allow ({part}: "
                                f"{' '.join(sorted(allowed[part])) or 'nothing'})")
                elif to in api_only[part] and not name.startswith("gtee/"):
                    errs.append(f"{rel}:{n}: part '{part}' includes {name}, an internal header of part "
                                f"'{to}', which docs/architecture.md lets it use through its public "
                                f"headers only ({to}(api))")
    for group, cycle in find_cycles(graph):
        steps = ", ".join(f"{a} -> {b} ({where[(a, b)]})" for a, b in zip(cycle, cycle[1:]))
        errs.append(f"a cycle between parts: {steps} (parts {', '.join(group)} reach each other through includes)")
    for group, cycle in find_cycles(allowed):
        errs.append("the parts table of docs/architecture.md allows a cycle: " + " -> ".join(cycle))
    if show:
        for p in parts:
            print(f"{p}: {' '.join(sorted(graph[p]))}")
    if errs:
        fail(errs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
