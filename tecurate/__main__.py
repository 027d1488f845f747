"""``python -m tecurate`` runs the CLI."""

from tecurate.cli import main

main()
