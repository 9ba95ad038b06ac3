"""The provenance record of a run: package and dependency versions, platform, seed, data and
scale files with their hashes, and every option (the only clock-dependent value is
``generated_at``)."""

from __future__ import annotations

import datetime as _dt
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psychometrics.pipeline.options import ValidationOptions

if TYPE_CHECKING:
    from psychometrics.data import Responses
    from psychometrics.scale import Scale

__all__ = ["provenance", "versions", "portable_path"]

_DEPENDENCIES = ("numpy", "scipy", "pandas", "pydantic", "PyYAML", "jinja2", "matplotlib", "rich", "click")


def versions() -> dict[str, str]:
    """Installed version of each runtime dependency ("not installed" when absent)."""
    from importlib import metadata

    out = {}
    for dist in _DEPENDENCIES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def portable_path(path: Any) -> Any:
    """A path relative to the working folder when it lies below it (reports stay portable)."""
    if path is None or not isinstance(path, (str, Path)) or str(path).startswith("<"):
        return path
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        pass
    try:  # a spec shipped with the package (the demo's): name it as the package's scales/ folder
        from psychometrics.simulate import embedded_scales_dir

        return "scales/" + resolved.relative_to(Path(embedded_scales_dir()).resolve()).as_posix()
    except Exception:  # noqa: BLE001 - not an embedded file (or no embedded folder): keep the path as given
        return str(path)


def provenance(scale: Scale, resp: Responses, opts: ValidationOptions, command: str | None,
               extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The provenance record (``extra`` entries are added last, e.g. the demo's simulation)."""
    from psychometrics import __version__

    options = opts.to_dict()
    options["measures"] = [portable_path(m) for m in options["measures"]]
    if options.get("scheduler") is None:  # recorded only when a Dask cluster was named
        options.pop("scheduler", None)
    d = {
        "package": f"scalevalid {__version__}",
        "generated_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": command,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "seed": opts.seed,
        "data_file": portable_path(resp.source),
        "data_sha256": resp.sha256,
        "scale_file": portable_path(scale.source),
        "scale_hash": scale.content_hash,
        "dependencies": versions(),
        "options": options,
    }
    if extra:
        d.update(extra)
    return d
