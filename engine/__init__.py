"""pyctr engine: server -> jobs -> daemon -> drivers."""
__version__ = "0.1.0"
