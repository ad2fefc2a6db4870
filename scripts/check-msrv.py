#!/usr/bin/env python3
"""Checks the declared MSRVs: no workspace crate depends (normal and build
dependencies, transitively, as locked) on a package whose `rust-version` is newer
than the crate's own. What it does not prove: that the code compiles on that Rust
(language features such as let-chains are not seen here; no older toolchain is
installed). Clippy's `incompatible_msrv` (the clippy step) covers std APIs."""
import json, subprocess, sys

def ver(v):
    return tuple(int(x) for x in (v or "0").split(".")[:3]) + (0,) * (3 - len((v or "0").split(".")[:3]))

meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--locked"]))
pkgs = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
failed = False
for member in meta["workspace_members"]:
    own = pkgs[member].get("rust_version")
    seen, todo = set(), [member]
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if kinds <= {"dev"} or dep["pkg"] in seen:
                continue
            seen.add(dep["pkg"])
            todo.append(dep["pkg"])
    for pid in sorted(seen):
        p = pkgs[pid]
        if p.get("rust_version") and ver(p["rust_version"]) > ver(own):
            print(f"{pkgs[member]['name']} (rust-version {own}) depends on "
                  f"{p['name']} {p['version']} (rust-version {p['rust_version']})")
            failed = True
    print(f"{pkgs[member]['name']}: rust-version {own}, {len(seen)} dependencies checked",
          file=sys.stderr)
sys.exit(1 if failed else 0)
