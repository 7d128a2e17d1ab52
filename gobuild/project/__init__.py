"""The project model: gobuild.toml, go.mod, gobuild.lock and the environment, as values.

What a project asks for, validated once at load time (:mod:`.config`, the schema in
:mod:`.settings`), with the vocabulary (:mod:`.names`), quantities, Go versions and
platforms it is written in. Everything above receives these values and reads no
configuration file or environment variable itself (:mod:`.environ` is the one reader).

May import: the foundation (gobuild.errors, gobuild.atomic, gobuild.digest), pydantic,
platformdirs and the standard library. Nothing above.
"""
