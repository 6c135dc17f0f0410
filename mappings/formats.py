"""The RDF syntaxes studygraph reads and writes, by short name and by media type.

One table for every layer: the CLI's ``export --format``, the server's suffixes and
``?format=``, SPARQL graph results, the Graph Store Protocol and the harvester all name
syntaxes the same way.
"""

from __future__ import annotations

from pyoxigraph import RdfFormat

#: Short name (also the file suffix) -> pyoxigraph syntax.
RDF_FORMATS: dict[str, RdfFormat] = {
    "nq": RdfFormat.N_QUADS,
    "trig": RdfFormat.TRIG,
    "jsonld": RdfFormat.JSON_LD,
    "nt": RdfFormat.N_TRIPLES,
    "ttl": RdfFormat.TURTLE,
    "rdf": RdfFormat.RDF_XML,
}

#: Media type -> pyoxigraph syntax, for reading what a server or client sends.
RDF_MEDIA_TYPES: dict[str, RdfFormat] = {
    "text/turtle": RdfFormat.TURTLE,
    "application/x-turtle": RdfFormat.TURTLE,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "application/n-quads": RdfFormat.N_QUADS,
    "application/trig": RdfFormat.TRIG,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/ld+json": RdfFormat.JSON_LD,
}

#: Syntaxes that can carry prefix declarations.
WITH_PREFIXES = frozenset({"ttl", "trig", "rdf"})
