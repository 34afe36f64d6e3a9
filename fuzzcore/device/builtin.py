"""Built-in device profiles (fuzzcore/devices/*.toml) and lookup by name or path."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..util.text_input import missing_file
from .profile import DeviceProfile, load_profile

DEFAULT_DEVICE = "i350"
DEFAULT_UPSTREAM_PORT = "cnl-rootport"


def builtin_dir() -> Path:
    return Path(str(resources.files("fuzzcore") / "devices"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def resolve_device(name_or_path: str) -> DeviceProfile:
    """A built-in name (`i350`) or a path to a profile TOML."""
    p = Path(name_or_path)
    if p.suffix == ".toml":
        if not p.exists():
            raise LookupError(missing_file(p))
        return load_profile(p)
    candidate = builtin_dir() / f"{name_or_path}.toml"
    if candidate.exists():
        return load_profile(candidate)
    raise LookupError(f"no device {name_or_path!r}: not a profile file, and the built-in devices are "
                      f"{', '.join(builtin_names())}")
