"""Rebuild addin/etf_rebalancer.xlam from the installed xlwings' ribbon add-in template.

Usage: python scripts/build_xlam.py [--check]
(--check exits 1 if the committed file differs from a fresh build.)
"""

from __future__ import annotations

import sys

from etf_rebalancer.excel.build import build_xlam, committed_addin_path


def main(argv: list[str]) -> int:
    data = build_xlam()
    target = committed_addin_path()
    if "--check" in argv:
        same = target.exists() and target.read_bytes() == data
        print(f"{target}: {'up to date' if same else 'differs from a fresh build'}")
        return 0 if same else 1
    target.write_bytes(data)
    print(f"wrote {target} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
