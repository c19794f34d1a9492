#!/usr/bin/env python3
"""Finds cycles in a Rust crate's module graph: module A depends on module B when A's code
(tests, comments and doc links left out) names a path under `crate::B`. Nodes are modules, one per
file or inline `mod`-less file (`a/b.rs` and `a/b/mod.rs` are `a::b`); a parent declaring its
children (`mod b;`) is structure, not a dependency. Only paths written from the crate root are
followed (`crate::...`, the workspace's convention between modules); `super::` paths stay inside
one module's family. Exits 1 when any crate has a cycle.

Usage: module_cycles.py SRC_DIR [SRC_DIR ...]
"""
import os
import re
import sys


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        return ()
    return tuple(rel)


def code_only(text):
    """The file without its test module and without comments."""
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests\b", text)[0]
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = []
    for line in text.splitlines():
        # a `//` inside a string literal (a URL) is rare in these paths; cut at the first one
        lines.append(line.split("//")[0])
    return "\n".join(lines)


def crate_paths(text):
    """Every module path named after `crate::`, braces expanded (`crate::{a::X, b}`)."""
    paths = []
    i = 0
    while True:
        i = text.find("crate::", i)
        if i < 0:
            return paths
        i += len("crate::")
        paths.extend(expand(text, i, ()))


def expand(text, i, prefix):
    """Paths starting at text[i] (after a `::`), with `prefix` segments before them."""
    segs = list(prefix)
    while True:
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*", text[i:])
        if m:
            segs.append(m.group(1))
            i += m.end()
            if text.startswith("::", i):
                i += 2
                continue
            return [tuple(segs)]
        if text[i:].lstrip().startswith("{"):
            i = text.index("{", i) + 1
            out, depth, start = [], 0, i
            while i < len(text):
                c = text[i]
                if c == "{":
                    depth += 1
                elif c == "}":
                    if depth == 0:
                        out.extend(expand(text, start, tuple(segs)))
                        return out
                    depth -= 1
                elif c == "," and depth == 0:
                    out.extend(expand(text, start, tuple(segs)))
                    start = i + 1
                i += 1
            return out
        return [tuple(segs)] if segs else []


def graph(src):
    files = {}
    for root, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                files[module_of(src, path)] = path
    modules = set(files)
    edges = {m: set() for m in modules}
    for module, path in files.items():
        with open(path, encoding="utf-8") as f:
            text = code_only(f.read())
        for p in crate_paths(text):
            # the longest module that is a prefix of the path
            target = max((p[:n] for n in range(len(p), 0, -1) if p[:n] in modules),
                         key=len, default=None)
            if target and target != module and target[: len(module)] != module:
                edges[module].add(target)
    return edges


def cycles(edges):
    found, colour, stack = [], {}, []

    def visit(u):
        colour[u] = 1
        stack.append(u)
        for v in sorted(edges[u]):
            if colour.get(v) == 1:
                found.append(stack[stack.index(v):] + [v])
            elif v not in colour:
                visit(v)
        stack.pop()
        colour[u] = 2

    for u in sorted(edges):
        if u not in colour:
            visit(u)
    return found


def main(dirs):
    failed = False
    for src in dirs:
        found = cycles(graph(src))
        if found:
            failed = True
            print(f"{src}: {len(found)} cycle(s)")
            for c in found:
                print("   " + " -> ".join("::".join(m) or "crate" for m in c))
        else:
            print(f"{src}: no cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
