"""Jinja2 templates shipped with gobuild (loaded through importlib.resources)."""
