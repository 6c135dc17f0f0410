"""The RDF syntaxes and SPARQL result formats studygraph reads and writes: one table each.

Every layer names syntaxes from these tables: the CLI's ``export --format``, the store's
exports and Graph Store Protocol writes, the server's suffixes, ``?format=`` and
``Accept`` negotiation, SPARQL graph and solution results, and the harvester's ``Accept``
headers and parsers. A syntax is added or renamed here, and nowhere else; places that
need their own order (the CLI's choices, a preference in an ``Accept`` header) list the
short names, and take everything else from the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyoxigraph import QueryResultsFormat, RdfFormat


@dataclass(frozen=True)
class Syntax:
    """One RDF syntax: its names, media types and how Oxigraph reads and writes it."""

    #: Short name: ``?format=``, ``export --format``, and the file suffix without its dot.
    name: str
    #: As a person reads it (the HTML pages' format links).
    label: str
    #: Its registered media type, the one answers are labelled with by default.
    media_type: str
    rdf_format: RdfFormat
    #: Whether it keeps graph names (a quad syntax): exports in it keep every record's graph.
    quads: bool
    #: Whether it can carry prefix declarations (the serialiser is given ours).
    prefixes: bool
    #: Its local name under ``mappings.namespaces.W3C_FORMATS``.
    w3c_name: str
    #: For a quad syntax, the triple syntax that is a subset of it (N-Triples of N-Quads,
    #: Turtle of TriG): a document, which is triples, is written in that.
    triples_as: str | None = None
    #: Other media types of the same syntax, read and answered alike.
    aliases: tuple[str, ...] = ()
    #: Media types an answer may be labelled with, but that are not read: N3's (Turtle is
    #: a subset of N3, so our Turtle is N3; N3 is not all Turtle), and the ``x-`` names
    #: of N-Quads and TriG, which were never read (reading them would change behaviour).
    answered_only: tuple[str, ...] = ()
    #: Broader media types clients send meaning this syntax (``application/xml``); an
    #: answer to one names the syntax's own type.
    broader: tuple[str, ...] = ()
    #: Other ``?format=`` values clients use for it.
    other_names: tuple[str, ...] = ()

    @property
    def suffix(self) -> str:
        """The file and URL suffix (``.ttl``)."""
        return "." + self.name

    @property
    def synonyms(self) -> tuple[str, ...]:
        """Every other media type of the syntax itself, in preference order."""
        return self.aliases + self.answered_only


#: The RDF syntaxes, in the order the server offers them (links, headers, ``Accept`` ties).
SYNTAXES: tuple[Syntax, ...] = (
    Syntax("jsonld", "JSON-LD", "application/ld+json", RdfFormat.JSON_LD, quads=True, prefixes=False, w3c_name="JSON-LD",
           broader=("application/json",), other_names=("json", "json-ld")),
    Syntax("ttl", "Turtle", "text/turtle", RdfFormat.TURTLE, quads=False, prefixes=True, w3c_name="Turtle",
           aliases=("application/x-turtle",), answered_only=("text/n3", "text/rdf+n3"), other_names=("turtle",)),
    Syntax("rdf", "RDF/XML", "application/rdf+xml", RdfFormat.RDF_XML, quads=False, prefixes=True, w3c_name="RDF_XML",
           broader=("application/xml", "text/xml"), other_names=("xml", "rdfxml", "rdf+xml")),
    Syntax("nt", "N-Triples", "application/n-triples", RdfFormat.N_TRIPLES, quads=False, prefixes=False, w3c_name="N-Triples",
           broader=("text/plain",), other_names=("ntriples", "n-triples")),
    Syntax("nq", "N-Quads", "application/n-quads", RdfFormat.N_QUADS, quads=True, prefixes=False, w3c_name="N-Quads",
           triples_as="nt", answered_only=("text/x-nquads",), other_names=("nquads", "n-quads")),
    Syntax("trig", "TriG", "application/trig", RdfFormat.TRIG, quads=True, prefixes=True, w3c_name="TriG",
           triples_as="ttl", answered_only=("application/x-trig",)),
)
SYNTAX_BY_NAME: dict[str, Syntax] = {s.name: s for s in SYNTAXES}

#: Export formats (``studygraph export --format``), quad syntaxes first: the CLI's order.
EXPORT_ORDER: tuple[str, ...] = ("nq", "trig", "jsonld", "nt", "ttl", "rdf")

#: Short name (also the file suffix) -> pyoxigraph syntax.
RDF_FORMATS: dict[str, RdfFormat] = {name: SYNTAX_BY_NAME[name].rdf_format for name in EXPORT_ORDER}

#: Media type -> pyoxigraph syntax, for reading what a server or client sends.
RDF_MEDIA_TYPES: dict[str, RdfFormat] = {
    media: s.rdf_format for s in SYNTAXES for media in (s.media_type, *s.aliases)
}

#: Syntaxes that can carry prefix declarations.
WITH_PREFIXES = frozenset(s.name for s in SYNTAXES if s.prefixes)


def accept_header(preferences: tuple[tuple[str, float], ...], *others: str) -> str:
    """An ``Accept`` header asking for syntaxes by short name with q-values (1 is left
    unsaid), then *others* as given: how a client of ours says what it reads best."""
    parts = [SYNTAX_BY_NAME[name].media_type + ("" if quality == 1 else f";q={quality:g}") for name, quality in preferences]
    return ", ".join([*parts, *others])


@dataclass(frozen=True)
class ResultSyntax:
    """One SPARQL solution (SELECT/ASK) result format."""

    #: Short name: ``?format=`` and the serialiser's name.
    name: str
    #: As a person reads it (the query page's download links).
    label: str
    media_type: str
    results_format: QueryResultsFormat
    #: Its local name under ``mappings.namespaces.W3C_FORMATS``.
    w3c_name: str
    #: Whether its Content-Type names a charset (JSON is always UTF-8 and has none).
    charset: bool = True
    #: Other ``?format=`` values clients use (``srj``).
    other_names: tuple[str, ...] = ()
    #: Broader media types clients send meaning it.
    broader: tuple[str, ...] = ()


#: The SPARQL solution result formats, in the order the server offers them.
RESULT_SYNTAXES: tuple[ResultSyntax, ...] = (
    ResultSyntax("json", "JSON", "application/sparql-results+json", QueryResultsFormat.JSON, "SPARQL_Results_JSON",
                 charset=False, other_names=("srj",), broader=("application/json",)),
    ResultSyntax("xml", "XML", "application/sparql-results+xml", QueryResultsFormat.XML, "SPARQL_Results_XML",
                 other_names=("srx",), broader=("application/xml", "text/xml")),
    ResultSyntax("csv", "CSV", "text/csv", QueryResultsFormat.CSV, "SPARQL_Results_CSV"),
    ResultSyntax("tsv", "TSV", "text/tab-separated-values", QueryResultsFormat.TSV, "SPARQL_Results_TSV"),
)

#: Result formats: name -> media type.
RESULT_FORMATS: dict[str, str] = {r.name: r.media_type for r in RESULT_SYNTAXES}
