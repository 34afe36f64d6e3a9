"""Test-only device profiles (tests/data), for behaviour no built-in device shows."""

from pathlib import Path

DATA = Path(__file__).parent / "data"
# The I350 below a root port that supports TPH as a completer: below the real one (cnl-rootport,
# DEVCAP2 0x837) pcie_enable_tph returns -EINVAL, so the I350's TPH tests need this port.
I350_TPH = str(DATA / "i350-tph.toml")
