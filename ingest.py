"""Build or update the index: the same code as `privacy-qa ingest` (arguments pass through)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "ingest", *sys.argv[1:]]
    main()
