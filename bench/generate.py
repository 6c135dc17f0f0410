#!/usr/bin/env python3
"""Write N synthetic study records as JSON Lines (see studygraph/synthetic.py).

    python bench/generate.py N [--seed 1] [--out FILE.jsonl|-]
"""

import sys

from studygraph.synthetic import generate, main, write_jsonl  # noqa: F401  (re-exported for bench scripts)

if __name__ == "__main__":
    sys.exit(main())
