"""Write the published contract artefacts from the code, or check them for drift.

python -m lgsp.contracts.generate          # write contracts/openapi, events/schemas, asyncapi
python -m lgsp.contracts.generate --check  # exit 1 and name each file that differs
"""

from __future__ import annotations

import argparse
import sys

from lgsp.contracts.artefacts import REGENERATE, drift, write_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on drift")
    args = parser.parse_args(argv)
    if args.check:
        problems = drift()
        for line in problems:
            print(line)
        if problems:
            print(f"the contracts drifted from the code; regenerate with: {REGENERATE}")
            return 1
        print("the committed contracts equal the code")
        return 0
    for line in write_all() or ["nothing changed"]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
