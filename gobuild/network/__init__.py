"""The network as the environment describes it: proxies, CA certificates, credentials.

:class:`.config.Network` is built once from the environment's variables
(:meth:`~.config.Network.from_variables`, called by
``project.environ.Environment.network``) and handed to :class:`gobuild.fetch.Fetcher`.
It answers, for one URL: which proxy to go through, which CA certificates verify TLS
and which credentials to send. It sends nothing itself. The rules are the go
command's, so one environment means the same to gobuild as to go.

``redact`` shows URLs and free text without their secrets (and takes a URL's user
information out); ``proxies`` reads proxy settings and NO_PROXY (httpproxy's rules);
``credentials`` is what authenticates a request (Basic authorisation, a URL's user
information, the netrc file); ``goauth`` reads GOAUTH and its commands' output;
``authstore`` keeps what GOAUTH gave by URL prefix, running its entries; ``config``
is the :class:`~.config.Network` that ties them to the environment's variables.

May import: the standard library, gobuild.errors and gobuild.proc (lazily, to run
GOAUTH commands). Nothing above: gobuild.fetch stands on this room.
"""
