"""Dépêche's entry point: `python run_bot.py [ask|check|eval|chat] ...` (see README)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
