"""Architecture rule: the mapping engine stands alone (no connector, Flask or database imports)."""

from __future__ import annotations

import subprocess
import sys


def test_mappings_import_nothing_from_the_application() -> None:
    code = (
        "import sys, mappings, mappings.defaults, mappings.inbound, mappings.outbound, mappings.validation\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'connector', 'flask', 'sqlalchemy', 'adapters'})\n"
        "print(','.join(bad))\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == ""
