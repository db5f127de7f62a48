"""The API version the sync and async clients speak (Docker 1.2's CLI spoke v1.14), in
a module of its own so that `pyctr version` can name it without loading endpoints.py."""

API_VERSION = "1.14"
