"""OCI images as data and over the wire: references, the image layout on disk, registry
credentials, and the distribution API (pull a base, push an index and its artifacts).

``reference`` parses image references; ``layout`` writes and reads an OCI image layout
with one serialisation for every document; ``dockerauth`` finds a registry's
credentials where container tools keep them; ``registry`` speaks the distribution API
with retries and challenge-driven authentication. Nothing here knows gobuild's
projects: the release room decides what an image holds.

May import: network (proxies, CA certificates, credential values) and the rest of the
foundation. Never project or above.
"""
