"""OCI images as data and over the wire: references, the image layout on disk, registry
credentials, and the distribution API (pull a base, push an index and its artifacts).

Nothing here knows gobuild's projects: the release room decides what an image holds.
"""
