"""atheris harness for the `.fzs` parser. Contract (fuzzcore/program/fzs.py): any bytes in a
`.fzs` file either load, and then format back to a text that parses to the same calls, or raise
FzsError naming the file, a line and a column of the input (line and column 0 only for an
unreadable file). Anything else is a crash (libFuzzer keeps the input as crash-*).

Run: python tests/fuzz/fuzz_fzs.py -max_total_time=600 CORPUS_DIR   (seeds: tests/fuzz/seeds.py)
"""

import atheris
from scratch_file import fuzz, scratch_path

with atheris.instrument_imports(include=["fuzzcore"]):
    from fuzzcore.program.fzs import FzsError, format_program, load_fzs, parse_program

PATH = scratch_path("fzs", ".fzs")


def TestOneInput(data: bytes) -> None:
    with open(PATH, "wb") as f:
        f.write(data)
    try:
        calls = load_fzs(PATH)
    except FzsError as e:
        assert e.path == PATH and str(e).startswith(f"{PATH}:{e.line}:{e.col}: "), e
        lines = data.count(b"\n") + 1
        assert 1 <= e.line <= lines and e.col >= 1, (e, lines)
        return
    text = format_program(calls)
    assert parse_program(text, "again.fzs") == calls
    assert format_program(parse_program(text)) == text


def main() -> None:
    fuzz(TestOneInput, PATH)


if __name__ == "__main__":
    main()
