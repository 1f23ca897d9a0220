"""The package's shape (issue 12, "modules with one job each"): private names imported across modules stay few and
are the ones CONTRIBUTING.md lists; the shared checkers have one home (hierfact.validation); the split of the
baselines keeps every name in one module; the book's two tables of contents list the same chapters."""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "hierfact"
MAX_PRIVATE_IMPORTS = 10


def private_imports(pkg=PKG) -> list:
    "(module file, imported module, name) for every `from .x import _name` (or `from hierfact.x import _name`)."
    out = []
    for p in sorted(pkg.glob("*.py")):
        if p.name == "_modidx.py": continue
        for node in ast.walk(ast.parse(p.read_text())):
            if not isinstance(node, ast.ImportFrom): continue
            internal = node.level >= 1 or (node.module or "").split(".")[0] == "hierfact"
            if not internal: continue
            mod = (node.module or "").split(".")[-1]
            out += [(p.name, mod, a.name) for a in node.names if a.name.startswith("_") and a.name != "__future__"]
    return out


def contributing_exceptions() -> set:
    "The (module, name) pairs of the section 'Private names shared between modules' of CONTRIBUTING.md."
    text = (ROOT / "CONTRIBUTING.md").read_text()
    sec = text.split("## Private names shared between modules", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`hierfact\.(\w+)\.(_\w+)`", sec))


def test_counter_sees_relative_and_absolute_private_imports(tmp_path):
    (tmp_path / "a.py").write_text("from .b import _x, y\nfrom hierfact.c import _z as w\nfrom numpy import _p\n")
    (tmp_path / "_modidx.py").write_text("from .b import _ignored\n")
    assert private_imports(tmp_path) == [("a.py", "b", "_x"), ("a.py", "c", "_z")]


def test_at_most_ten_private_names_imported_across_modules():
    found = private_imports()
    assert len(found) <= MAX_PRIVATE_IMPORTS, "\n".join(f"{f}: from .{m} import {n}" for f, m, n in found)


def test_every_private_import_is_a_listed_exception():
    listed = contributing_exceptions()
    assert listed, "CONTRIBUTING.md lists no exceptions"
    unlisted = {(m, n) for _, m, n in private_imports()} - listed
    assert not unlisted, f"private names imported across modules but not listed in CONTRIBUTING.md: {sorted(unlisted)}"


def test_validation_is_the_one_home_of_the_shared_checkers():
    "No module defines its own copy of a checker that hierfact.validation provides."
    import hierfact.validation as v
    shared = {n for n in dir(v) if n.startswith(("check_", "warn_")) or n in ("detach", "stopped")}
    assert {"check_int", "check_float", "check_mode", "check_options", "check_callback", "check_cp", "check_factor",
            "check_finite_result", "detach", "stopped", "warn_unconverged"} <= shared
    for p in sorted(PKG.glob("*.py")):
        if p.name in ("validation.py", "_modidx.py"): continue
        defs = {n.name for n in ast.parse(p.read_text()).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        dup = {d for d in defs if d.lstrip("_") in shared}
        assert not dup, f"{p.name} defines its own {sorted(dup)}; import it from hierfact.validation"


@pytest.mark.parametrize("module, names", [
    ("baselines", ["hntf", "standard_hncpd", "standard_ncpd", "HNTFModel", "StandardHNCPDModel", "IndependentNCPDModel",
                   "PerModeCP"]),
    ("supervised", ["one_hot", "ssnmf", "SSNMFResult", "supervised_hnmf", "SupervisedHNMFModel", "label_matrices",
                    "supervised_multihntf", "SupervisedMultiHNTFModel"]),
    ("evaluation", ["grouping_distance", "synthetic_groupings", "topic_recovery", "pinv_accuracy", "logreg_accuracy"]),
])
def test_each_name_of_the_split_lives_in_one_module(module, names):
    import importlib
    mods = {m: importlib.import_module(f"hierfact.{m}") for m in ("baselines", "supervised", "evaluation")}
    for n in names:
        assert n in mods[module].__all__, (module, n)
        assert all(n not in mods[o].__all__ for o in mods if o != module), n
