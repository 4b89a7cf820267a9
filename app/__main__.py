"""`python -m app` is the `privacy-qa` command."""

from app.cli import main

main()
