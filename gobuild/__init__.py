"""gobuild: build orchestration for Go projects, driven by doit task graphs.

The rooms, from the front ends down (docs/architecture.md draws them; pyproject.toml's
import-linter contracts enforce the order):

- ``cli`` (the ``gobuild`` command) and ``tasks`` with ``dodo`` (the doit tasks): the
  front ends, the only printers; ``ui``: what they share.
- ``image``, ``render``, ``checks``, ``builds``, ``toolchain``: the features.
- ``modules``: Go modules as the go command fetches them (GOPROXY lists, h1 hashes, the
  checksum database).
- ``project``: the project model (gobuild.toml, go.mod, gobuild.lock, the environment).
- ``errors``, ``proc``, ``fetch`` over ``network``, ``atomic``, ``digest``, ``progress``,
  ``stamps``: the foundation.
"""

__version__ = "0.1.0"
