"""pyodide_dist.py, which assembles the folder pytest-pyodide boots, on small wheels made here (CPython only)."""

import hashlib
import importlib.util
import json
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("pyodide_dist", HERE / "pyodide_dist.py")
pyodide_dist = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pyodide_dist)


def make_wheel(folder, name, version, requires=(), files=("{mod}/__init__.py",), top_level=None, tag="py3-none-any"):
    mod = name.lower().replace("-", "_")
    path = folder / f"{mod}-{version}-{tag}.whl"
    info = f"{mod}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        for f in files:
            z.writestr(f.format(mod=mod), "")
        requirements = "".join(f"Requires-Dist: {r}\n" for r in requires)
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requirements}")
        z.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nTag: {tag}\n")
        if top_level is not None:
            z.writestr(f"{info}/top_level.txt", "\n".join(top_level))
    return path


@pytest.fixture
def pyodide_package(tmp_path):
    """A stand-in for npm's pyodide package: runtime files and a lock naming Python 3.14."""
    pkg = tmp_path / "npm-pyodide"
    pkg.mkdir()
    (pkg / "pyodide.js").write_text("// runtime")
    (pkg / "python_stdlib.zip").write_bytes(b"PK")
    (pkg / "pyodide-lock.json").write_text(json.dumps({
        "info": {"arch": "wasm32", "python": "3.14.2"},
        "packages": {"pytest": {"depends": ["py", "atomicwrites"]}},
    }))
    return pkg


@pytest.fixture
def wheels(tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    return folder


def test_the_lock_lists_exactly_the_wheels_with_dependencies_for_pyodides_python(tmp_path, pyodide_package, wheels):
    tool = make_wheel(wheels, "Tool", "2.0", requires=[
        "helper>=1", 'tomli>=1; python_version < "3.11"', 'colorama; sys_platform == "win32"',
        'extra-thing; extra == "dev"', 'wasm-only; sys_platform == "emscripten"'])
    helper = make_wheel(wheels, "helper", "1.5", files=["helper.py", "_helper_c/__init__.py"])
    wasm = make_wheel(wheels, "wasm-only", "0.1", top_level=["wasm_only", "wasm_extras"])
    dist = tmp_path / "dist"
    pyodide_dist.assemble(dist, pyodide_package, [tool, helper, wasm])
    lock = json.loads((dist / "pyodide-lock.json").read_text())
    assert lock["info"] == {"arch": "wasm32", "python": "3.14.2"}
    assert sorted(lock["packages"]) == ["helper", "tool", "wasm-only"]
    entry = lock["packages"]["tool"]
    assert entry["depends"] == ["helper", "wasm-only"]
    assert (entry["name"], entry["version"], entry["file_name"]) == ("Tool", "2.0", tool.name)
    assert entry["sha256"] == hashlib.sha256(tool.read_bytes()).hexdigest()
    assert lock["packages"]["helper"]["imports"] == ["_helper_c", "helper"]
    assert lock["packages"]["wasm-only"]["imports"] == ["wasm_only", "wasm_extras"]
    assert sorted(p.name for p in dist.iterdir()) == sorted(
        ["pyodide.js", "python_stdlib.zip", "pyodide-lock.json", tool.name, helper.name, wasm.name])


def test_a_dependency_without_a_wheel_fails_the_assembly(tmp_path, pyodide_package, wheels):
    tool = make_wheel(wheels, "tool", "1.0", requires=["helper"])
    with pytest.raises(SystemExit, match="tool needs helper"):
        pyodide_dist.assemble(tmp_path / "dist", pyodide_package, [tool])
    # Nothing is left behind: no folder, no half-made staging copy.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["npm-pyodide", "wheels"]


def test_a_wheel_with_compiled_code_is_refused(tmp_path, pyodide_package, wheels):
    native = make_wheel(wheels, "native", "1.0", tag="cp314-cp314-manylinux_2_17_x86_64")
    with pytest.raises(SystemExit, match="not a pure-Python wheel"):
        pyodide_dist.assemble(tmp_path / "dist", pyodide_package, [native])


def test_reassembling_replaces_the_folder(tmp_path, pyodide_package, wheels):
    dist = tmp_path / "dist"
    pyodide_dist.assemble(dist, pyodide_package, [make_wheel(wheels, "old", "1.0")])
    pyodide_dist.assemble(dist, pyodide_package, [make_wheel(wheels, "new", "1.0")])
    assert list(json.loads((dist / "pyodide-lock.json").read_text())["packages"]) == ["new"]
    assert not (dist / "old-1.0-py3-none-any.whl").exists()


def test_add_wheel_files_it_under_its_name_and_rewrites_nothing_when_unchanged(tmp_path, pyodide_package, wheels):
    dist = tmp_path / "dist"
    pyodide_dist.assemble(dist, pyodide_package, [make_wheel(wheels, "helper", "1.0")])
    built = tmp_path / "limbodb.whl"  # npm/build.mjs's name for it
    make_wheel(wheels, "limbodb", "0.1.0", requires=["helper"]).rename(built)
    entry = pyodide_dist.add_wheel(dist, built)
    assert entry["file_name"] == "limbodb-0.1.0-py3-none-any.whl"
    assert (dist / entry["file_name"]).read_bytes() == built.read_bytes()
    lock = json.loads((dist / "pyodide-lock.json").read_text())
    assert lock["packages"]["limbodb"] == entry and entry["depends"] == ["helper"]
    stamps = [(dist / n).stat().st_mtime_ns for n in ("pyodide-lock.json", entry["file_name"])]
    assert pyodide_dist.add_wheel(dist, built) == entry
    assert [(dist / n).stat().st_mtime_ns for n in ("pyodide-lock.json", entry["file_name"])] == stamps


def test_the_limbodb_wheel_built_from_the_working_tree_packs_its_sources(tmp_path):
    repo = HERE.parents[1]
    wheel = pyodide_dist.build_limbodb_wheel(repo, tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    # engine/ is the package limbodb, io/ its subpackage limbodb.io, as pyproject.toml maps them.
    assert {f"limbodb/{p.name}" for p in (repo / "engine").glob("*.py")} <= names
    assert {"limbodb/io/__init__.py", "limbodb/io/opfs/bridge.py"} <= names
    assert not any("__pycache__" in n for n in names)
    entry = pyodide_dist._entry(wheel, "3.14.2")
    assert (entry["name"], entry["depends"], entry["imports"]) == ("limbodb", [], ["limbodb"])
