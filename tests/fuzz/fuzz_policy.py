"""atheris harness for the policy loader. Contract (fuzzcore/policy/loader.py): a policy file
with any bytes, loaded as a baseline or as an overlay on linux-7.1 (the first input byte
chooses), either loads, and then compiles, or raises TomlError naming the file and a line of it
or PolicyError naming the spec part. Anything else is a crash.

Run: python tests/fuzz/fuzz_policy.py -max_total_time=600 CORPUS_DIR   (seeds: tests/fuzz/seeds.py)
"""

import atheris
from scratch_file import fuzz, scratch_path
import numpy  # noqa: F401  (not instrumented: not ours)
import tomllib  # noqa: F401  (not instrumented: the stdlib parser is not what is under test)

with atheris.instrument_imports(include=["fuzzcore"]):
    from fuzzcore.policy import load_policy, loader
    from fuzzcore.policy.loader import PolicyError
    from fuzzcore.util.toml_source import TomlError

_load_toml, _BUILTIN = loader.load_toml, {}


def _cached_load_toml(path):
    """The built-in baseline an overlay input goes on is parsed once (it is not the input)."""
    if str(path) == PATH:
        return _load_toml(path)
    if str(path) not in _BUILTIN:
        _BUILTIN[str(path)] = _load_toml(path)
    return _BUILTIN[str(path)]


loader.load_toml = _cached_load_toml

PATH = scratch_path("policy", ".toml")


def TestOneInput(data: bytes) -> None:
    overlay = bool(data[:1]) and data[0] & 1
    with open(PATH, "wb") as f:
        f.write(data[1:])
    spec = f"linux-7.1+{PATH}" if overlay else PATH
    try:
        pol = load_policy(spec)
    except TomlError as e:
        assert e.path == PATH and str(e).startswith(f"{PATH}:{e.line}: "), e
        assert 1 <= e.line <= data.count(b"\n") + 1, e
        return
    except PolicyError as e:
        assert str(e), e
        return
    pol.compile()
    pol.describe()


def main() -> None:
    fuzz(TestOneInput, PATH)


if __name__ == "__main__":
    main()
