"""The job's code, built at launch time: ``bootstrap.py`` and wheels of what the image lacks.

Wheels are written with the standard library's ``zipfile`` from the installed packages
(``<package files>`` plus ``.dist-info/METADATA``, ``WHEEL`` and ``RECORD``), so a normal
install works as well as a source checkout. The stock image has boto3, numpy and pandas;
this package and the pure-Python libraries its job imports besides them are shipped.
Compiled extension modules are left out: the shipped libraries fall back to Python code
(MarkupSafe's ``_native``), so the wheels are ``py3-none-any`` and install on any image.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
WHEELS_DIRNAME = "wheels"
# files a shipped package consists of (this package's data files included)
PACKAGE_SUFFIXES = (".py", ".pyi", ".typed", ".json", ".npz", ".html")
REQUIRES_PYTHON = ">=3.11"


@dataclass(frozen=True)
class Shipped:
    """A distribution shipped as a wheel: its name and its top-level import package."""

    distribution: str
    package: str


# this package, and what its job imports that the stock image does not hold
SHIPPED = (
    Shipped("sm-bench-widgets", "sm_bench_widgets"),
    Shipped("Jinja2", "jinja2"),
    Shipped("MarkupSafe", "markupsafe"),
)


def build_code(folder: str | Path) -> list[Path]:
    """Write ``bootstrap.py`` and ``wheels/*.whl`` into ``folder``; the files written."""
    folder = Path(folder)
    wheels = folder / WHEELS_DIRNAME
    wheels.mkdir(parents=True, exist_ok=True)
    written = [Path(shutil.copyfile(BOOTSTRAP, folder / BOOTSTRAP.name))]
    written += [build_wheel(item, wheels) for item in SHIPPED]
    return written


def _normal(name: str) -> str:
    """A distribution name as wheel file names spell it."""
    return name.replace("-", "_").replace(".", "_")


def _package_files(package: str) -> list[tuple[Path, str]]:
    """(file, name in the wheel) for every file of the installed ``package``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"cannot ship {package}: it is not installed as a package")
    root = Path(next(iter(spec.submodule_search_locations)))
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (
            path.is_file()
            and path.suffix in PACKAGE_SUFFIXES
            and "__pycache__" not in relative.parts
            and not any(part.startswith(".") for part in relative.parts)
        ):
            files.append((path, f"{package}/{relative.as_posix()}"))
    return files


def _metadata(item: Shipped, version: str) -> str:
    """METADATA naming the distribution; dependencies are left out (installed --no-deps)."""
    lines = ["Metadata-Version: 2.1", f"Name: {item.distribution}", f"Version: {version}"]
    if item.package == "sm_bench_widgets":
        lines.append(f"Requires-Python: {REQUIRES_PYTHON}")
    return "\n".join(lines) + "\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(item: Shipped, folder: str | Path) -> Path:
    """A ``py3-none-any`` wheel of the installed ``item`` in ``folder``; its path."""
    version = importlib.metadata.version(item.distribution)
    stem = f"{_normal(item.distribution)}-{version}"
    dist_info = f"{stem}.dist-info"
    path = Path(folder) / f"{stem}-py3-none-any.whl"
    generated = {
        f"{dist_info}/METADATA": _metadata(item, version).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: sm-bench-widgets\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    records = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for source, name in _package_files(item.package):
            data = source.read_bytes()
            wheel.writestr(name, data)
            records.append(_record_line(name, data))
        for name, data in generated.items():
            wheel.writestr(name, data)
            records.append(_record_line(name, data))
        records.append(f"{dist_info}/RECORD,,")
        wheel.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    return path
