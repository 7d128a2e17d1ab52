"""gobuild: build orchestration for Go projects, driven by doit task graphs."""

__version__ = "0.1.0"
