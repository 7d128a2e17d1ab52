"""Go modules as the go command fetches them: the GOPROXY protocol and the checksum database.

``paths`` escapes module paths and versions for URLs and matches GOPRIVATE-style
patterns; ``goproxy`` reads a GOPROXY list and fetches from it with Go's
fall-through rules; ``dirhash`` computes a module zip's ``h1:`` hash;
``note`` and ``tlog`` verify signed tree heads and inclusion proofs; ``sumdb``
is the checksum-database client that puts them together and remembers the last
tree it verified.

May import: project, fetch, network and the rest of the foundation. Never toolchain or above.
"""
