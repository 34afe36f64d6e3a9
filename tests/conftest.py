import struct
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
DUMPS = sorted(p for p in DATA.glob("*.txt"))


@pytest.fixture
def data_dir() -> Path:
    return DATA


def index_rows():
    """Rows of tests/data/INDEX.md's device table: {file, size, standard, extended, notes}."""
    rows = []
    for line in (DATA / "INDEX.md").read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append({"file": cells[0].strip("`"), "size": int(cells[3]), "standard": cells[4],
                     "extended": cells[5], "notes": cells[6]})
    return rows
