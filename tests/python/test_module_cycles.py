"""The module-cycle check CI runs (scripts/tools/module_cycles.py) finds a cycle and passes a
one-way graph, reading paths the way Rust code writes them."""
import subprocess
import sys

from conftest import REPO

TOOL = REPO / "scripts" / "tools" / "module_cycles.py"


def check(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return subprocess.run([sys.executable, str(TOOL), str(tmp_path)], capture_output=True, text=True)


def test_a_cycle_through_a_brace_import_fails(tmp_path):
    done = check(tmp_path, {
        "lib.rs": "pub mod a;\npub mod b;\n",
        "a.rs": "use crate::{b::inner::Thing, c};\n",
        "b/mod.rs": "pub mod inner;\n",
        "b/inner.rs": "fn f() { crate::a::g(); }\n",
    })
    assert done.returncode == 1, done.stdout
    assert "a -> b::inner -> a" in done.stdout or "b::inner -> a -> b::inner" in done.stdout, done.stdout


def test_comments_tests_and_children_are_not_dependencies(tmp_path):
    done = check(tmp_path, {
        "lib.rs": "pub mod a;\npub mod b;\n",
        "a.rs": "use crate::b::X;\n",
        "b.rs": "//! Used by [`crate::a`].\nmod child;\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n",
        "b/child.rs": "use crate::b::X;\n",
    })
    assert done.returncode == 0, done.stdout
    assert "no cycle" in done.stdout
