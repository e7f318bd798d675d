"""Run the ``kerve`` command line as ``python -m kerve``."""

from kerve.cli import main

if __name__ == "__main__":
    main()
