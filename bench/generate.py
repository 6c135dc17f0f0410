#!/usr/bin/env python3
"""Write N synthetic study records as JSON Lines (see bench/synthetic.py).

    python bench/generate.py N [--seed 1] [--out FILE.jsonl|-]
"""

import sys

from synthetic import main  # bench/ is this script's folder, first on sys.path

if __name__ == "__main__":
    sys.exit(main())
