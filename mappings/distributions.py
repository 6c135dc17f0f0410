"""Distributions: the files and services through which a harvested dataset is reached.

The DCAT reader keeps each ``dcat:Distribution`` of a dataset in the record
(``extra_data.distributions``, one object per distribution: ``iri``, ``title``,
``description``, ``identifier``, ``access_url``, ``download_url``, ``media_type``, ``format``,
``license``, ``byte_size``, ``issued``, ``modified``). Each becomes a node local to the
record's document (``<doc#distribution-1>``): a ``dcat:Distribution`` and, as the W3C
DCAT–schema.org mapping has it, a ``schema:DataDownload``. What DCAT-AP 3.0.1 asks of
it is met here: an access URL on every distribution (the download URL when only that is
given), media types and formats as typed IRIs (or typed local nodes for formats named
only in words), at most one licence, format and media type; the byte size goes to
``schema:contentSize`` (see :func:`_write_byte_size`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from . import multilingual
from .namespaces import DCAT, DCT, IANA_MEDIA_TYPES, RDFS, SCHEMA
from .nodes import Context
from .publication_dates import write_dates
from .record_values import as_list, distinct, objects
from .terms import InvalidTerm, iri, literal

FIELD = "distributions"
#: ``type/subtype`` as IANA registers media types (RFC 6838), parameters left out.
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$", re.I)


def write_distributions(ctx: Context, values: list[Any]) -> None:
    """Every distribution with a usable access or download URL, numbered in order."""
    number = 0
    for value in objects(ctx, FIELD, "a distribution", values):
        name = _name(value, number + 1)
        access = _urls(ctx, value.get("access_url"))
        download = _urls(ctx, value.get("download_url"))
        if not access and not download:
            ctx.graph.warn(FIELD, f"{name} has no usable access or download URL; dropped", rule="Distribution-accessURL")
            continue
        number += 1
        fragment = f"distribution-{number}"
        node = ctx.local(fragment)
        ctx.add(ctx.study, f"<{DCAT}distribution>", node)
        ctx.add(ctx.study, f"<{SCHEMA}distribution>", node)
        ctx.graph.typed(node, DCAT + "Distribution", SCHEMA + "DataDownload")
        _write_urls(ctx, node, access, download)
        _write_description(ctx, node, value)
        _write_formats(ctx, node, fragment, name, value)
        _write_licence(ctx, node, name, value.get("license"))
        _write_byte_size(ctx, node, name, value.get("byte_size"))
        write_dates(ctx, node, FIELD, value.get("issued"), value.get("modified"), about=f"{name}: ")


def _name(value: dict[str, Any], number: int) -> str:
    """How warnings name a distribution: its IRI at the source, else its number."""
    source = value.get("iri")
    return f"distribution <{source}>" if isinstance(source, str) and source else f"distribution {number}"


def _urls(ctx: Context, values: Any) -> list[str]:
    found: dict[str, None] = {}
    for value in as_list(values):
        term = ctx.web_iri(FIELD, value)
        if term:
            found[term] = None
    return list(found)


def _write_urls(ctx: Context, node: str, access: list[str], download: list[str]) -> None:
    """DCAT-AP wants an access URL on every distribution; one given only a download URL
    is reached at that URL. schema.org has one property for both (``contentUrl``)."""
    for url in access or download:
        ctx.add(node, f"<{DCAT}accessURL>", url)
    for url in download:
        ctx.add(node, f"<{DCAT}downloadURL>", url)
    for url in dict.fromkeys([*access, *download]):
        ctx.add(node, f"<{SCHEMA}contentUrl>", url)


def _write_description(ctx: Context, node: str, value: dict[str, Any]) -> None:
    for identifier in distinct([value.get("iri"), *as_list(value.get("identifier"))]):
        if isinstance(identifier, str) and identifier.strip():
            ctx.add(node, f"<{DCT}identifier>", literal(identifier.strip()))
    multilingual.write(ctx, node, FIELD, value.get("title"), DCT + "title", SCHEMA + "name")
    multilingual.write(ctx, node, FIELD, value.get("description"), DCT + "description", SCHEMA + "description")


def _write_formats(ctx: Context, node: str, fragment: str, name: str, value: dict[str, Any]) -> None:
    """The media type (``dcat:mediaType``, a ``dct:MediaType``) and the format
    (``dct:format``, a ``dct:MediaTypeOrExtent``): one each, as DCAT-AP allows."""
    for key, predicate, suffix, classes in (
        ("media_type", DCAT + "mediaType", "media-type", (DCT + "MediaType",)),
        ("format", DCT + "format", "format", (DCT + "MediaTypeOrExtent",)),
    ):
        kept = False
        for entry in _entries(value.get(key)):
            made = _format_term(ctx, entry, f"{fragment}-{suffix}")
            if made is None:
                ctx.graph.warn(FIELD, f"{name}: {key.replace('_', ' ')} {entry!r} is not usable; dropped")
                continue
            term, text, is_media_type = made
            if kept:
                ctx.graph.warn(FIELD, f"{name}: DCAT-AP allows one {key.replace('_', ' ')}; {text or term} dropped")
                continue
            kept = True
            ctx.add(node, f"<{predicate}>", term)
            ctx.graph.typed(term, *classes, *((DCT + "MediaType",) if is_media_type and key == "format" else ()))
            ctx.add(node, f"<{SCHEMA}encodingFormat>", literal(text) if text else term)


def _entries(values: Any) -> Iterable[dict[str, str]]:
    for value in as_list(values):
        if isinstance(value, str):
            yield {"value": value}
        elif isinstance(value, dict):
            yield {k: v for k, v in value.items() if k in ("iri", "value", "label") and isinstance(v, str) and v.strip()}


def _format_term(ctx: Context, entry: dict[str, str], fragment: str) -> tuple[str, str | None, bool] | None:
    """A format or media type as a term, its text for schema.org, and whether it is an
    IANA media type.

    An IRI is kept (with its label, if the source gives one); a ``type/subtype`` text
    becomes its IANA IRI; an http(s) URL given as text becomes that IRI; any other text
    (``"CSV"``) names a node of its own in the document, labelled with the text.
    """
    text = entry.get("value") or entry.get("label")
    if entry.get("iri"):
        try:
            term = iri(entry["iri"])
        except InvalidTerm:
            return None
        if entry.get("label"):
            ctx.label(term, entry["label"], RDFS + "label")
        registered = _iana_media_type(entry["iri"])
        return term, text or registered or entry["iri"].rstrip("/").rsplit("/", 1)[-1], registered is not None
    if text is None:
        return None
    if MEDIA_TYPE.match(text.strip()):
        term = iri(IANA_MEDIA_TYPES + text.strip().lower())
        if entry.get("label") and entry["label"] != text:
            ctx.label(term, entry["label"], RDFS + "label")
        return term, text.strip(), True
    if re.match(r"^https?://\S+$", text.strip()):
        try:
            return iri(text.strip()), _iana_media_type(text.strip()), _iana_media_type(text.strip()) is not None
        except InvalidTerm:
            return None
    node = ctx.local(fragment)
    ctx.label(node, text.strip(), RDFS + "label")
    return node, text.strip(), False


def _iana_media_type(url: str) -> str | None:
    """``text/csv`` from IANA's IRI for it (published with http or https)."""
    for prefix in (IANA_MEDIA_TYPES, IANA_MEDIA_TYPES.replace("http:", "https:", 1)):
        if url.startswith(prefix) and MEDIA_TYPE.match(url[len(prefix):]):
            return url[len(prefix):]
    return None


def _write_licence(ctx: Context, node: str, name: str, values: Any) -> None:
    for number, url in enumerate(_urls(ctx, values), 1):
        if number > 1:
            ctx.graph.warn(FIELD, f"{name}: DCAT-AP allows one licence; {url} dropped")
            continue
        ctx.add(node, f"<{DCT}license>", url)
        ctx.add(node, f"<{SCHEMA}license>", url)
        ctx.graph.typed(url, DCT + "LicenseDocument")


def _write_byte_size(ctx: Context, node: str, name: str, value: Any) -> None:
    """The size in bytes (sources write ``12323``, ``43008.0``), as ``schema:contentSize``.

    Not as ``dcat:byteSize``: DCAT-AP wants that typed ``xsd:nonNegativeInteger``, and
    Oxigraph's store keeps every integer type as ``xsd:integer`` (oxigraph issue 526), so
    each served study with a size would fail DCAT-AP. ``schema:contentSize`` is the
    property ``dcat:byteSize`` specialises in the W3C DCAT–schema.org mapping.
    """
    if value is None or value == "":
        return
    try:
        number = float(value)
        if number != int(number) or number < 0:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        ctx.graph.warn(FIELD, f"{name}: byte size {value!r} is not a whole number of bytes; dropped")
        return
    ctx.add(node, f"<{SCHEMA}contentSize>", literal(str(int(number))))
