"""The live dashboard of `ordergate serve`: one page, its script and its style sheet,
vendored here as package data (no CDN, no build step), served by `routes.py`."""
