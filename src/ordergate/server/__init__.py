"""`ordergate serve`: the HTTP API over a running engine (`serve.py` starts it)."""
