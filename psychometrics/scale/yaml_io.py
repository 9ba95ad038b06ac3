"""Reading a scale spec file: text (UTF-8), then YAML with a loader that refuses duplicate keys.

Every failure becomes a :class:`~psychometrics.exceptions.SpecError` naming the file
(and the line and column for YAML syntax errors). PyYAML is imported only when a file
is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psychometrics.exceptions import SpecError


def _read_text(path: Path) -> str:
    if not path.exists():
        raise SpecError(f"Scale spec file not found: {path}. Check the path.")
    if path.is_dir():
        raise SpecError(f"Scale spec path {path} is a directory; give the YAML file.")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"Scale spec {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None
    except OSError as exc:
        raise SpecError(f"Cannot read scale spec {path}: {exc.strerror or exc}.") from None


def _unique_key_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """Safe loader that refuses duplicate keys (PyYAML would silently keep the last)."""

    def construct_mapping(loader, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                continue  # let PyYAML raise its own error for unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {seen[key].line + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Loader


def _parse_yaml(text: str, path: Path) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_unique_key_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or str(exc)
        raise SpecError(f"Scale spec {path}{where}: not valid YAML: {problem}.") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"Scale spec {path}: not valid YAML: {exc}.") from None
