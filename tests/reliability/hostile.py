"""Hypothesis strategies for hostile input: any JSON value, as text, in any field.

The values are made as JSON *text*, not Python objects, so that they can hold what a
parser hands over but Python would never write: numbers that overflow (``1e400``),
``NaN`` and ``Infinity``, integers too long to read, lone UTF-16 surrogates
(``"\\ud800"``), nesting deeper than the parser follows. They are put at the paths the
mapping profile reads (and at the nested keys its handlers read), so every handler meets
them, and in the other formats (JSON-LD, HTML, DCAT) at the properties their readers read.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from studygraph.mappings.profile import PROFILE

#: Numbers as a JSON parser meets them, among them the ones no double holds.
RAW_NUMBERS = (
    "1e400", "-1e400", "1E+309", "1e-400", "-0", "0", "0.0", "12", "12.5", "999", "2020", "1965.0",
    "1" + "0" * 400, "-" + "9" * 310, "1" * 5000, "NaN", "Infinity", "-Infinity",
)
#: Texts a handler may try to read as something else: dates, years, URLs, codes.
TEMPTING_TEXTS = (
    "", " ", "2020", "２０２０", "2020-٠٣", "2020-13", "2020-01-01", "2020-02-30", "2020-01-01T10:00",
    "20200101T100000", "2020-W01-1", "1990/2000", "1990..", "../2000", "2000/1990", "yesterday", "999",
    "http://example.org/x", "https://", "http://[::1", "http://a b", "mailto:a@b.c", "a@b.c", "10.1234/x y",
    "UK", "GB", "xx", "en", "English", "en-US", "text/csv", "CSV", "$undefined", "null", "\ud800", "a\udfffb",
    "\x00", "<script>", "\\", '"', "\n", "ESRC MRC", "; ;", "-", "é" * 3,
)
#: Keys the handlers look for inside nested objects.
NESTED_KEYS = (
    "name", "description", "@value", "@language", "@type", "iri", "label", "value", "url", "slug", "identifier",
    "access_url", "download_url", "media_type", "format", "license", "byte_size", "issued", "modified", "title",
    "email", "dataset", "properties", "path", "values", "record", "dataset_schema", "extra_data",
)

_CHARACTERS = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),
    st.sampled_from(list("\x00\n\t\"\\<>{}^`|٠١２ ")),
)
texts = st.one_of(st.text(_CHARACTERS, max_size=12), st.sampled_from(TEMPTING_TEXTS))


def _string(text: str) -> str:
    """A JSON string literal, lone surrogates written as ``\\udXXX`` escapes."""
    return json.dumps(text, ensure_ascii=True)


scalar_texts = st.one_of(
    st.just("null"),
    st.sampled_from(["true", "false"]),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(json.dumps),
    st.sampled_from(RAW_NUMBERS),
    texts.map(_string),
)


def _array(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{_string(key)}:{value}" for key, value in pairs) + "}"


#: Any JSON value as text: scalars, and lists and objects of them (objects mostly keyed
#: as the handlers read them), a few levels deep, or nested past what a parser follows.
json_values = st.one_of(
    st.recursive(
        scalar_texts,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(_array),
            st.lists(st.tuples(st.one_of(st.sampled_from(NESTED_KEYS), texts), inner), max_size=4).map(_object),
        ),
        max_leaves=10,
    ),
    st.integers(min_value=50, max_value=3000).map(lambda depth: "[" * depth + "1" + "]" * depth),
)

#: Every record path the profile reads.
PROFILE_PATHS = tuple(dict.fromkeys(path for field in PROFILE for path in field.paths))


@st.composite
def harmony_records(draw) -> str:
    """One Harmony record as a JSON text: a name (usually usable), hostile values at some
    of the profile's paths, sometimes a ``_provenance`` envelope of hostile values."""
    name = draw(st.one_of(st.just(_string("A hostile study")), json_values))
    chosen = draw(st.dictionaries(st.sampled_from(PROFILE_PATHS), json_values, max_size=6))
    parts: dict[str, list[tuple[str, str]]] = {"dataset_schema": [("name", name)], "extra_data": [], "": []}
    for path, value in chosen.items():
        head, _, tail = path.partition(".")
        if tail:
            parts[head].append((tail, value))
        else:
            parts[""].append((head, value))
    record = _object([(key, _object(pairs)) for key, pairs in parts.items() if key] + parts[""])
    if draw(st.booleans()):
        provenance = draw(st.lists(st.tuples(st.sampled_from(("url", "harvest_source", "harvested")), json_values), max_size=3))
        return _object([("record", record), ("_provenance", _object(provenance))])
    return record


#: The schema.org properties the JSON-LD reader reads.
SCHEMA_PROPERTIES = (
    "name", "description", "url", "keywords", "identifier", "sameAs", "includedInDataCatalog", "sponsor", "funder",
    "publisher", "creator", "copyrightHolder", "temporalCoverage", "license", "variableMeasured", "spatialCoverage",
    "inLanguage",
)


@st.composite
def jsonld_documents(draw) -> str:
    """A schema.org Dataset in JSON-LD with hostile values for the properties read."""
    pairs = [("@context", _string("https://schema.org/")), ("@type", _string("Dataset"))]
    pairs.append(("name", draw(st.one_of(st.just(_string("A hostile dataset")), json_values))))
    pairs += list(draw(st.dictionaries(st.sampled_from(SCHEMA_PROPERTIES), json_values, max_size=5)).items())
    return _object(pairs)


def _turtle_string(text: str) -> str:
    """A Turtle string literal; a lone surrogate is written as the ``\\uD800`` escape a
    hostile page would carry (which the RDF parser must refuse, not crash on)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 0x20 or 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


turtle_literals = st.one_of(
    texts.map(_turtle_string),
    st.tuples(texts, st.sampled_from(("xsd:date", "xsd:dateTime", "xsd:gYear", "xsd:integer", "xsd:anyURI", "rdf:JSON"))).map(
        lambda pair: f"{_turtle_string(pair[0])}^^{pair[1]}"
    ),
    st.tuples(texts, st.sampled_from(("en", "cy", "x", "en-GB"))).map(lambda pair: f"{_turtle_string(pair[0])}@{pair[1]}"),
    st.sampled_from(RAW_NUMBERS[:12]),
    st.sampled_from(("<http://example.org/a>", "<mailto:a@b.c>", "<http://publications.europa.eu/resource/authority/language/ENG>")),
)
#: Properties of a dataset the DCAT reader reads, with where they point (a literal, or a
#: node with properties of its own).
DCAT_DATASET_PROPERTIES = (
    "dct:title", "dct:description", "dct:issued", "dct:modified", "dcat:keyword", "dct:language", "dct:license",
    "dcat:landingPage", "dct:identifier", "schema:temporalCoverage", "schema:datePublished", "dct:accessRights",
)
DCAT_NODE_PROPERTIES = {
    "dct:temporal": ("dcat:startDate", "dcat:endDate", "schema:startDate"),
    "dcat:distribution": ("dcat:accessURL", "dcat:downloadURL", "dcat:byteSize", "dct:issued", "dcat:mediaType", "dct:format", "dct:title", "dct:license"),
    "dcat:contactPoint": ("vcard:fn", "vcard:hasEmail", "vcard:hasURL"),
    "dct:publisher": ("foaf:name",),
    "dcat:theme": ("skos:prefLabel",),
    "dct:spatial": ("skos:prefLabel",),
}
PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix schema: <https://schema.org/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix sg: <http://other.example/vocab#> .
"""


@st.composite
def dcat_pages(draw) -> str:
    """A Turtle page with one dataset carrying hostile literals where the reader expects
    dates, sizes, URLs, codes and text; sometimes with a kept original record (another
    studygraph's ``sg:sourceRecord``) holding hostile JSON."""
    lines = ["<http://other.example/ds/1> a dcat:Dataset ;",
             f"  dct:title {draw(st.one_of(st.just(chr(34) + 'A hostile dataset' + chr(34)), turtle_literals))} ;"]
    for prop, value in draw(st.lists(st.tuples(st.sampled_from(DCAT_DATASET_PROPERTIES), turtle_literals), max_size=6)):
        lines.append(f"  {prop} {value} ;")
    for prop, inner in draw(st.dictionaries(st.sampled_from(sorted(DCAT_NODE_PROPERTIES)), st.just(None), max_size=3)).items():
        pairs = draw(st.lists(st.tuples(st.sampled_from(DCAT_NODE_PROPERTIES[prop]), turtle_literals), min_size=1, max_size=3))
        lines.append(f"  {prop} [ {' ; '.join(f'{p} {v}' for p, v in pairs)} ] ;")
    lines[-1] = lines[-1][:-2] + " ."
    if draw(st.booleans()):
        record = draw(harmony_records())
        lines.append(f"<http://other.example/items/1> foaf:primaryTopic <http://other.example/ds/1> ;\n"
                     f"  sg:sourceRecord {_turtle_string(record)}^^rdf:JSON .")
    return PREFIXES + "\n".join(lines) + "\n"
