"""The Engine API's wire model, shared by the server, the daemon and the clients:
the codec (records <-> JSON), the config records a container is created from, the
API versions, and the typed stream messages (JSON progress, events, path-stat),
each encoded in one place. Imports nothing else of pyctr, so every layer may use it."""
