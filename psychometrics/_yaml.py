"""The one YAML loader of the package: safe, bounded, and strict about duplicate keys.

Every YAML input (scale spec, companion spec, study file, ``--config`` file, YAML scoring
key) is read through :func:`load_yaml`. It

* refuses a file larger than :data:`MAX_YAML_BYTES` before parsing it (a spec, config or
  key of tens of MB is not one);
* composes the document (PyYAML's ``SafeLoader``: no tags that run code) and refuses it
  when its aliases would expand it beyond :data:`MAX_EXPANDED_NODES` nodes — a
  "billion laughs" document is cheap to parse because aliases are shared, but anything
  that walks it (a message quoting it, a validator copying it) would expand it — and
  refuses recursive aliases;
* refuses duplicate mapping keys (PyYAML silently keeps the last), naming both lines;
* turns every failure into the caller's error type naming the file (and line, column).

PyYAML is imported only when a file is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from psychometrics._text import quote
from psychometrics.exceptions import PsychometricsError, SpecError

#: larger YAML files are refused unread (bytes)
MAX_YAML_BYTES = 2_000_000
#: a document whose aliases expand it beyond this many nodes is refused
MAX_EXPANDED_NODES = 200_000
#: deeper flow nesting (``[[[...`` or ``{{{...``) is refused before parsing: PyYAML's scanner
#: is quadratic in it and its composer recursive
MAX_FLOW_DEPTH = 100
#: larger integers are refused (float() of them overflows; no field needs them)
MAX_INT = 10**18


def read_text(path: Path, what: str, error: type[PsychometricsError] = SpecError,
              max_bytes: int = MAX_YAML_BYTES) -> str:
    """The UTF-8 text of ``path``; missing, directory, oversized or non-UTF-8 files raise ``error``."""
    path = Path(path)
    if not path.exists():
        raise error(f"{what} file not found: {path}. Check the path.")
    if path.is_dir():
        raise error(f"{what} path {path} is a directory; give the YAML file.")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{what} {path} is {size / 1e6:.1f} MB; a {what.lower()} is at most "
                        f"{max_bytes / 1e6:g} MB. Check that this is the right file.")
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)  # the file may have grown since stat
    except OSError as exc:
        raise error(f"Cannot read {what.lower()} {path}: {exc.strerror or exc}.") from None
    if len(raw) > max_bytes:
        raise error(f"{what} {path} is larger than {max_bytes / 1e6:g} MB; check that this is the right file.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None


def _loader_class(unique_keys: bool, fast: bool = True):
    import yaml

    # ``fast``: libyaml's parser when PyYAML was built with it (the same documents, nodes and marks;
    # ≈ 20× faster: a run reads five specs, ≈ 0.4 s with the pure-Python scanner), else PyYAML's.
    # A document libyaml refuses is parsed again by PyYAML's own parser for its messages (parse_yaml)
    base = yaml.CSafeLoader if fast and getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader

    class Loader(base):  # type: ignore[misc,valid-type]
        """Safe loader that refuses duplicate keys (PyYAML would silently keep the last)."""

    if unique_keys:
        def construct_mapping(loader, node, deep=False):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = loader.construct_object(key_node, deep=deep)
                try:
                    hash(key)
                except TypeError:
                    continue  # PyYAML raises its own error for unhashable keys
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {quote(key)} (first at line {seen[key].line + 1})",
                        key_node.start_mark)
                seen[key] = key_node.start_mark
            return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

        Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)

    def construct_int(loader, node):
        value = yaml.SafeLoader.construct_yaml_int(loader, node)
        if abs(value) > MAX_INT:  # no field of ours needs it, and float() of it overflows
            raise yaml.constructor.ConstructorError(
                None, None, f"the integer {quote(node.value, 30)} is too large (at most {MAX_INT:.0e})",
                node.start_mark)
        return value

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    return Loader


def _expanded_size(root: Any, limit: int) -> int | None:
    """Nodes of the document with every alias expanded (stops counting above ``limit``).

    Returns ``None`` for a recursive alias. Shared nodes are counted once per reference,
    with their sizes memoised, so this costs one pass over the *composed* nodes.
    """
    import yaml

    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # iterative post-order walk (deeply nested documents must not exhaust the stack)
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1
            if isinstance(node, yaml.SequenceNode):
                total += sum(sizes[id(c)] for c in node.value)
            elif isinstance(node, yaml.MappingNode):
                total += sum(sizes[id(k)] + sizes[id(v)] for k, v in node.value)
            sizes[key] = min(total, limit + 1)
            continue
        if key in sizes:
            continue
        if key in on_path:
            return None
        on_path.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [x for pair in node.value for x in pair]
        else:
            children = []
        for child in children:
            if id(child) in on_path:
                return None
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _flow_depth_bound(text: str) -> int:
    """An upper bound of the nesting depth of ``[``/``{`` (brackets inside strings count too)."""
    import itertools
    import re

    brackets = re.sub(r"[^\[\]{}]+", "", text)
    if len(brackets) <= MAX_FLOW_DEPTH:
        return len(brackets)
    steps = (1 if c in "[{" else -1 for c in brackets)
    level = list(itertools.accumulate(steps, initial=0))
    lowest = itertools.accumulate(level, min)
    return max(a - m for a, m in zip(level, lowest))


def parse_yaml(text: str, path: Path | str, what: str, error: type[PsychometricsError] = SpecError,
               unique_keys: bool = True, max_nodes: int = MAX_EXPANDED_NODES) -> Any:
    """Parse YAML ``text`` read from ``path``; any problem raises ``error`` naming the file."""
    if _flow_depth_bound(text) > MAX_FLOW_DEPTH:
        raise error(f"{what} {path}: brackets are nested more than {MAX_FLOW_DEPTH} deep; this is not a "
                    f"plausible {what.lower()}.")
    try:
        return _parse_checked(text, path, what, error, unique_keys, max_nodes, fast=True)
    except error:
        raise
    except Exception:  # noqa: BLE001 - libyaml refused it: PyYAML's parser says why, in its words (as before)
        return _parse_checked(text, path, what, error, unique_keys, max_nodes, fast=False)


def _parse_checked(text: str, path: Path | str, what: str, error: type[PsychometricsError], unique_keys: bool,
                   max_nodes: int, fast: bool) -> Any:
    """:func:`parse_yaml` with one loader; with ``fast`` a YAML error is raised as it is (to retry)."""
    import yaml

    loader = None
    try:
        loader = _loader_class(unique_keys, fast)(text)  # its reader refuses control characters at once
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, max_nodes)
        if size is None:
            raise error(f"{what} {path}: a YAML alias refers to itself (a recursive structure); "
                        "write the values out.")
        if size > max_nodes:
            raise error(f"{what} {path}: its YAML aliases (*name) expand to more than {max_nodes:,} values; "
                        "this is not a plausible file (an alias bomb?). Write the values out.")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        if fast:
            raise
        _raise_yaml_error(exc, path, what, error)
    except RecursionError:
        if fast:
            raise
        raise error(f"{what} {path}: the YAML is nested too deeply to be a {what.lower()}.") from None
    finally:
        if loader is not None:
            loader.dispose()


def _raise_yaml_error(exc: Any, path: Path | str, what: str, error: type[PsychometricsError]) -> NoReturn:
    """``error`` naming the file (and line, column) for a PyYAML error."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or str(exc)
        raise error(f"{what} {path}{where}: not valid YAML: {problem}.") from None
    raise error(f"{what} {path}: not valid YAML: {quote(str(exc), 200)}.") from None


def load_yaml(path: str | Path, what: str, error: type[PsychometricsError] = SpecError,
              unique_keys: bool = True) -> Any:
    """Read and parse the YAML file ``path`` (bounded in size and alias expansion)."""
    path = Path(path)
    return parse_yaml(read_text(path, what, error), path, what, error, unique_keys=unique_keys)
