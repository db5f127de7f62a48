"""What the front-ends (the pyctr CLI and shell in shell/, pyctr-tui in tui/) share:
the Docker 1.2 flag parser (flags.py), the `run`/`create` flags and their
translation into the create request (runflags.py), and the formatting of ids,
sizes, durations and ports (text.py). Neither front-end imports the other."""
