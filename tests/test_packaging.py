"""The package ships everything it needs (subpackages, templates, datasets, embedded scales)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "psychometrics").rglob("__init__.py")
    } | {"psychometrics.scales"}
    assert found == listed, f"update [tool.setuptools] packages in pyproject.toml: {found ^ listed}"


def test_embedded_scales_are_the_top_level_scales_folder():
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    assert mapping["psychometrics.scales"] == "scales"
    assert (ROOT / "scales" / "mentorship_study.yaml").is_file()
