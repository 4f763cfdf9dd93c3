"""`python -m previews.sandbox --port 8001`: see the package's docstring."""

from .server import main

main()
