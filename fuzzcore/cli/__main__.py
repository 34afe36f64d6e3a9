"""`python -m fuzzcore.cli`: the same CLI as the `fuzzcore` script."""

from . import main

main()
