#!/usr/bin/env python3
"""Write docs/man/pkt.8.md from pkttables.cli.help (the parser's keyword tables and the
topics' descriptions).  ``--check``: exit 1 when the checked-in file is stale.

    python docs/man/generate.py [--check]
"""

import sys
from pathlib import Path

from pkttables.cli.help import _man_cli

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a == "--check"]
    sys.exit(_man_cli(args + [str(Path(__file__).with_name("pkt.8.md"))]))
