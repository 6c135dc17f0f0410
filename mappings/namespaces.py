"""Every RDF namespace studygraph names, and the prefixes it writes them with.

Each namespace is written here once; every layer imports it from here (mappings.terms
also names them, for the callers that make terms with them). The project's own
vocabulary, ``sg:``, lives under each base URL: :func:`vocab_namespace`.
"""

from __future__ import annotations

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
#: The older Dublin Core elements (``dc:language``), still written by some publishers.
DC = "http://purl.org/dc/elements/1.1/"
FOAF = "http://xmlns.com/foaf/0.1/"
PROV = "http://www.w3.org/ns/prov#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
ADMS = "http://www.w3.org/ns/adms#"
SCHEMA = "https://schema.org/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
RELATORS = "http://id.loc.gov/vocabulary/relators/"
EU_COUNTRY = "http://publications.europa.eu/resource/authority/country/"
EU_LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
#: IANA's registry of media types: ``<IANA_MEDIA_TYPES>text/csv`` is the IRI DCAT-AP gives
#: ``text/csv``.
IANA_MEDIA_TYPES = "http://www.iana.org/assignments/media-types/"

#: schema.org's older http namespace, which some publishers still write.
SCHEMA_HTTP = "http://schema.org/"
HYDRA = "http://www.w3.org/ns/hydra/core#"
#: W3C's profiles vocabulary (``prof:Profile``), which describes our profiles.
PROF = "http://www.w3.org/ns/dx/prof/"
VOID = "http://rdfs.org/ns/void#"
#: SHACL: the studygraph profile's shapes and validation reports.
SH = "http://www.w3.org/ns/shacl#"
#: W3C Data Quality Vocabulary: /validation's counts per rule.
DQV = "http://www.w3.org/ns/dqv#"
#: SPARQL 1.1 Service Description.
SD = "http://www.w3.org/ns/sparql-service-description#"
#: Activity Streams 2.0: the change feed's activities.
AS = "https://www.w3.org/ns/activitystreams#"
#: Where the W3C names its formats (``formats:Turtle``), for SPARQL service descriptions and VoID.
W3C_FORMATS = "http://www.w3.org/ns/formats/"

#: Prefixes for readable Turtle/TriG output; the project vocabulary is added per base URL.
PREFIXES: dict[str, str] = {
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "owl": OWL,
    "dcat": DCAT,
    "dct": DCT,
    "foaf": FOAF,
    "prov": PROV,
    "skos": SKOS,
    "adms": ADMS,
    "schema": SCHEMA,
    "vcard": VCARD,
    "relators": RELATORS,
    "country": EU_COUNTRY,
    "lang": EU_LANGUAGE,
}

#: Prefixes of the documents the server publishes: the mapping's, and those of the
#: server's own statements (paging, profiles, VoID, the change feed).
DOCUMENT_PREFIXES: dict[str, str] = {**PREFIXES, "hydra": HYDRA, "prof": PROF, "void": VOID, "as": AS, "sh": SH, "dqv": DQV}


def vocab_namespace(base_url: str) -> str:
    """The project vocabulary's namespace under *base_url* (``sg:``, ``<base>/vocab#``)."""
    return f"{base_url}/vocab#"
