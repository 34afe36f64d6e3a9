#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: install fuzzcore (builds the Cython engine), then package the
# harnesses with compile_python_fuzzer. Outside their builder image (no compile_python_fuzzer) it
# does what it can without touching the machine's Python: builds the wheel (the pip build) and
# runs each harness for a few hundred inputs.
if [ -n "${SRC:-}" ] && [ -d "$SRC/fuzzcore" ]; then cd "$SRC/fuzzcore"; else cd "$(dirname "$0")/.."; fi
if command -v compile_python_fuzzer >/dev/null; then
    python3 -m pip install .
    compile_python_fuzzer tests/fuzz/fuzz_program.py
    compile_python_fuzzer tests/fuzz/fuzz_importer.py
else
    echo "compile_python_fuzzer not found: building the wheel and running the harnesses instead"
    python3 -m pip wheel --no-deps . -w "${OUT:-$(mktemp -d)}"
    work="$(mktemp -d)"   # libFuzzer writes into its corpus directory: never the sources
    cp tests/data/*.txt "$work/"
    (cd "$work" && python3 "$OLDPWD/tests/fuzz/fuzz_program.py" -runs=300 &&
        python3 "$OLDPWD/tests/fuzz/fuzz_importer.py" -runs=300 "$work")
fi
