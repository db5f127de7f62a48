"""A fuzzer of pyctrd's API, generated from the route table (engine/server/routes.py):
requests with hostile path parameters, query values, JSON and tar bodies, transfer
encodings and timing, and raw bytes that are barely HTTP, sent over a real test
daemon's unix socket."""
