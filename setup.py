"""Build the Cython engine `fuzzcore.engine._restore` (and its two helpers) against numpy's headers.

The native sources live in fuzzcore/engine/: _restore.pyx with its _engine_*.pxi files, _mutate.pyx,
_feedback.pyx, _driver.pyx.

Plain build: whatever compiler Python was built with (gcc here).
Instrumented build (for coverage-guided campaigns): set FUZZCORE_INSTRUMENT=1. The engine is
then compiled with clang and `-fsanitize=fuzzer-no-link`, so libFuzzer (the one atheris ships)
sees its edges; see README "Instrumented build".
"""

import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

INSTRUMENT = os.environ.get("FUZZCORE_INSTRUMENT", "") not in ("", "0")

compile_args = ["-O2"]
link_args = []
if INSTRUMENT:
    os.environ.setdefault("CC", "clang")
    os.environ.setdefault("LDSHARED", "clang -shared")
    compile_args += ["-fsanitize=fuzzer-no-link", "-g"]
    allowlist = os.environ.get("FUZZCORE_COVERAGE_ALLOWLIST")
    if allowlist:
        compile_args.append(f"-fsanitize-coverage-allowlist={allowlist}")
    link_args += ["-fsanitize=fuzzer-no-link"]

def _extension(name: str, instrument: bool = True) -> Extension:
    return Extension(
        f"fuzzcore.engine.{name}",
        [f"fuzzcore/engine/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args if instrument else ["-O2"],
        extra_link_args=link_args if instrument else [],
    )


# _restore: the engine; _mutate: the structure-aware mutator atheris calls;
# _feedback: state-feature counters registered with libFuzzer; _driver: libFuzzer's driver and
# custom-mutator hooks in C for the native engine's campaigns (never instrumented: it is loaded
# before libFuzzer, so that libFuzzer binds its hooks, and must not need libFuzzer's symbols).
extensions = [_extension("_restore"), _extension("_mutate"), _extension("_feedback"),
              _extension("_driver", instrument=False)]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )
)
