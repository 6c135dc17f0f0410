"""A quad store over SPARQL 1.1 HTTP (Query, Update, Graph Store Protocol): Oxigraph
server, Virtuoso 7, or any store that speaks the three protocols.

- :mod:`.endpoints`: where the store answers, its credentials and its dialect, from a URL;
- :mod:`.digest`: HTTP digest authentication (RFC 7616, MD5), which urllib3 lacks;
- :mod:`.client`: one pooled keep-alive HTTP client per store;
- :mod:`.terms`: the one way terms reach SPARQL text (pyoxigraph's N-Triples form);
- :mod:`.patterns`: quad-pattern lookups over SPARQL (what graph.descriptions reads);
- :mod:`.store`: :class:`RemoteStore`, a graph.backend.QuadStore;
- :mod:`.location`: :class:`RemoteLocation`, a graph.catalogue.Location (bulk loads).
"""
