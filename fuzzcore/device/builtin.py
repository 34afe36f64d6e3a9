"""Built-in device profiles (fuzzcore/devices/*.toml) and lookup by name or path."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..util.file_identity import file_identity
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
    return load_profile(_profile_path(name_or_path))


def shared_device(name_or_path: str) -> DeviceProfile:
    """resolve_device, one object per file content, for readers that never change it: each
    reference model loads its upstream port's profile, and triage builds thousands of models."""
    path = _profile_path(name_or_path)
    return _load_unchanged(path, file_identity(path))


@lru_cache(maxsize=32)
def _load_unchanged(path: Path, identity: tuple) -> DeviceProfile:
    return load_profile(path)


def _profile_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml":
        if not p.exists():
            raise LookupError(missing_file(p))
        return p
    candidate = builtin_dir() / f"{name_or_path}.toml"
    if candidate.exists():
        return candidate
    raise LookupError(f"no device {name_or_path!r}: not a profile file, and the built-in devices are "
                      f"{', '.join(builtin_names())}")
