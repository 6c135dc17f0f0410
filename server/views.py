"""HTML pages: what a person sees of a document, built from the same statements.

The view functions turn a document's statements into plain values for the templates
(labels, links to our own pages, paragraphs); the templates escape every one of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import render_template, request
from pyoxigraph import Literal, NamedNode, Triple

from studygraph.mappings.identifiers import DOI_RESOLVER
from studygraph.mappings.namespaces import DCAT, DCT, DQV, EU_COUNTRY, EU_LANGUAGE, FOAF, IANA_MEDIA_TYPES, RDFS, SCHEMA, SH, SKOS, VCARD
from studygraph.mappings.node_kinds import LINKED_KINDS
from studygraph.mappings.terms import curie, term_value
from studygraph.mappings.urls import Urls
from studygraph.mappings.validation import Result, load_profile, shapes_document

from . import params
from .documents import INDEX_KINDS, LIST_PAGE_SIZE, NODE_PAGE_SIZE, PROF, Document, select
from .listing import page_url
from .negotiation import FORMATS
from .representations import jsonld

_LABELS = (SKOS + "prefLabel", SCHEMA + "name", FOAF + "name", DCT + "title", RDFS + "label")
KIND_LABELS = {
    **{kind.segment: kind.label for kind in LINKED_KINDS},
    "vocab": "vocabulary",
    "related": "study named by studies here, not in this catalogue",
    "profile": "profile",
}
#: Length limits Google Dataset Search puts on a description.
GOOGLE_DESCRIPTION = (50, 5000)
#: How many keywords (alphabetically first) a description made of record facts names.
RECORD_FACT_KEYWORDS = 5
#: What completes a description for Google when the record has too little to say.
GOOGLE_LAST_RESORT = "Catalogue record of a research study: its coverage, keywords, organisations and access."
@dataclass(frozen=True)
class Link:
    label: str
    href: str


@dataclass(frozen=True)
class FormatLink:
    suffix: str
    media_type: str
    label: str


def formats() -> list[FormatLink]:
    return [FormatLink(f.suffix, f.media_type, f.label) for f in FORMATS if f.name != "html"]


class Labels:
    """Labels of the things a document mentions, and their pages on this site."""

    def __init__(self, document: Document, urls: Urls) -> None:
        self.urls = urls
        self.labels: dict[str, str] = {}
        for triple in document.triples:
            if triple.predicate.value in _LABELS and isinstance(triple.object, Literal):
                self.labels.setdefault(term_value(triple.subject), term_value(triple.object))

    def href(self, iri: str) -> str:
        base = self.urls.base
        if iri.startswith(base + "/") and iri.endswith("#id"):
            return iri[len(base):-3]
        if iri.startswith(EU_COUNTRY):
            return "/countries/" + iri[len(EU_COUNTRY):].lower()
        if iri.startswith(EU_LANGUAGE):
            return "/languages/" + iri[len(EU_LANGUAGE):].lower()
        return iri

    def link(self, iri: str) -> Link:
        return Link(self.labels.get(iri, iri.rsplit("/", 1)[-1].removesuffix("#id")), self.href(iri))


def render_html(document: Document, urls: Urls, index: Any = None, findings: list[Result] | None = None) -> str:
    """The HTML page of *document*; a study's page with *findings* shows them (for
    holders of the write token only: the caller decides)."""
    common = {"formats": formats(), "path": document.path}
    if document.kind == "item":
        return render_template("study.html", study=study_view(document, urls), findings=findings, shapes_url=shapes_document(urls.base),
                               **common)
    if document.kind == "vocab":
        return render_template("vocab.html", terms=vocabulary_view(document), **common)
    if document.kind == "shapes":
        return render_template("shapes.html", rules=rules_view(urls), **common)
    if document.kind == "validation":
        return render_template("validation.html", report=validation_view(document, urls), **common)
    if document.kind == "catalog":
        return render_template("catalog.html", catalog=catalog_view(document, urls), pager=None, **common)
    if document.kind == "list":
        return render_template("nodes.html", listing=list_view(document, urls, index), pager=pager(page_number(), LIST_PAGE_SIZE, list_total(document)), **common)
    if document.kind == "profile":
        return render_template("profile.html", profile=profile_view(document), **common)
    node, node_pager = node_view(document, urls, index)
    return render_template("node.html", node=node, pager=node_pager, **common)


def page_language(document: Document) -> str | None:
    """The language a study's HTML page is shown in: of the languages its title and
    description are published in, the best for the request's ``Accept-Language`` ("" when
    none fits: the untagged text, else the first, is shown). None when there is no choice
    to make, so the page does not vary by language."""
    if len(document.languages) < 2:
        return None
    return request.accept_languages.best_match([tag for tag in document.languages if tag]) or ""


def choose_text(literals: list, language: str | None) -> str | None:
    """Of a text published in several languages, the one in *language*, else the one
    without a tag, else the first. (The RDF representations keep every one.)"""
    texts = [value for value in literals if isinstance(value, Literal)]
    if not texts:
        return None
    if language:
        chosen = next((t for t in texts if (t.language or "").lower() == language.lower()), None)
        if chosen is not None:
            return chosen.value
    return next((t for t in texts if not t.language), texts[0]).value


def study_view(document: Document, urls: Urls) -> dict[str, Any]:
    thing = document.thing
    labels = Labels(document, urls)
    language = page_language(document)

    def values(predicate: str) -> list:
        return document.objects(thing, predicate)

    def texts(predicate: str) -> list[str]:
        return [v.value for v in values(predicate) if isinstance(v, Literal)]

    def links(predicate: str) -> list[Link]:
        return sorted((labels.link(v.value) for v in values(predicate) if isinstance(v, NamedNode)), key=lambda link: link.label.lower())

    title = choose_text(values(DCT + "title"), language) or choose_text(values(SCHEMA + "name"), language) or document.key
    description = choose_text(values(DCT + "description"), language) or ""
    vocab = urls.vocab
    period = None
    for node in values(DCT + "temporal"):
        start = [v.value for v in document.objects(node.value, DCAT + "startDate")]
        end = [v.value for v in document.objects(node.value, DCAT + "endDate")]
        period = f"{start[0] if start else '…'} – {end[0] if end else 'ongoing'}"
    places = [labels.link(v.value).label for v in values(DCT + "spatial") if not v.value.startswith(EU_COUNTRY)]
    access = []
    for node in values(DCT + "accessRights"):
        access += [v.value for v in document.objects(node.value, RDFS + "label")]
    variables = []
    for node in values(SCHEMA + "variableMeasured"):
        name = [v.value for v in document.objects(node.value, SCHEMA + "name")]
        text = [v.value for v in document.objects(node.value, SCHEMA + "description")]
        variables.append({"name": name[0] if name else "", "description": text[0] if text else ""})
    facts = []
    for label, term in (
        ("Sample size", "sampleSize"), ("Minimum age", "minAge"), ("Maximum age", "maxAge"),
        ("Sweeps", "numberOfSweeps"), ("Variables", "numberOfVariables"), ("Sex", "sex"),
        ("Genetic data collected", "geneticDataCollected"),
    ):
        for value in document.objects(thing, vocab + term):
            facts.append((label, {"true": "yes", "false": "no"}.get(value.value, value.value)))
    for label, term in (("Published by the source", DCT + "issued"), ("Modified at the source", DCT + "modified")):
        facts += [(label, value.value) for value in values(term)]
    themes = links(DCAT + "theme")
    schema_jsonld = jsonld(google_dataset(document, urls, title), urls.base, root=thing)
    return {
        "title": title,
        "url": urls.base + document.path,
        "summary": _summary(description),
        "paragraphs": paragraphs(description),
        "resource_type": next((labels.link(v.value).label for v in values(DCT + "type")), None),
        "linked": [
            ("Keywords", [link for link in themes if link.href.startswith("/keywords/")]),
            ("Themes", [link for link in themes if not link.href.startswith("/keywords/")]),
            ("Sponsors", links(SCHEMA + "sponsor")),
            ("Funders", links(SCHEMA + "funder")),
            ("Publishers", links(SCHEMA + "publisher")),
            ("Creators", links(SCHEMA + "creator")),
            ("Rights holders", links(SCHEMA + "copyrightHolder")),
            ("Catalogues", links(SCHEMA + "includedInDataCatalog")),
            ("Sources", links(vocab + "source")),
            ("Instruments", links(vocab + "instrument")),
            ("Study designs", links(vocab + "studyDesign")),
            ("Countries", [labels.link(v.value) for v in values(DCT + "spatial") if v.value.startswith(EU_COUNTRY)]),
            ("Languages", links(DCT + "language")),
            ("Part of", links(DCT + "isPartOf")),
            ("Parts", links(DCT + "hasPart")),
        ],
        "period": period,
        "places": places,
        "dois": [Link(v.value.removeprefix(DOI_RESOLVER), v.value) for v in values(SCHEMA + "sameAs") if v.value.startswith(DOI_RESOLVER)],
        "identifiers": [i for i in texts(DCT + "identifier") if not i.startswith("10.")],
        "landing_pages": [v.value for v in values(DCAT + "landingPage")],
        "licences": [v.value for v in values(DCT + "license")],
        "access": access[0] if access else None,
        "variables": variables,
        "facts": facts,
        "image": next((v.value for v in values(SCHEMA + "image")), None),
        "distributions": [distribution_view(document, labels, node, language) for node in numbered(values(DCAT + "distribution"))],
        "contacts": [contact_view(document, node, language) for node in numbered(values(DCAT + "contactPoint"))],
        "language": language or None,
        "jsonld": script_json(schema_jsonld),
    }


def numbered(nodes: list) -> list[str]:
    """Nodes of a document (``#distribution-1`` … ``#distribution-10``) in their order."""
    return sorted((node.value for node in nodes), key=lambda iri: (len(iri), iri))


def distribution_view(document: Document, labels: Labels, node: str, language: str | None) -> dict[str, Any]:
    """A distribution as its row on the page: title, format, access and download links."""

    def objects(predicate: str) -> list:
        return document.objects(node, predicate)

    formats = [format_label(labels, value.value) for value in objects(DCT + "format") + objects(DCAT + "mediaType")]
    size = next((value.value for value in objects(DCAT + "byteSize") + objects(SCHEMA + "contentSize")), None)
    return {
        "title": choose_text(objects(DCT + "title"), language) or "",
        "description": choose_text(objects(DCT + "description"), language) or "",
        "formats": list(dict.fromkeys(formats)),
        "access": [value.value for value in objects(DCAT + "accessURL")],
        "downloads": [value.value for value in objects(DCAT + "downloadURL")],
        "size": f"{int(size):,} bytes" if size and size.isdigit() else None,
    }


def format_label(labels: Labels, iri: str) -> str:
    """A format or media type as a person reads it: its label, ``text/csv`` of IANA's
    IRI, else the last segment of the IRI (``CSV`` of the EU file types)."""
    for prefix in (IANA_MEDIA_TYPES, IANA_MEDIA_TYPES.replace("http:", "https:", 1)):
        if iri.startswith(prefix) and iri not in labels.labels:
            return iri[len(prefix):]
    return labels.link(iri).label


def contact_view(document: Document, node: str, language: str | None) -> dict[str, Any]:
    """A contact point: its name, e-mail addresses and web pages."""
    return {
        "name": choose_text(document.objects(node, VCARD + "fn"), language) or "",
        "emails": [v.value.removeprefix("mailto:") for v in document.objects(node, VCARD + "hasEmail")],
        "pages": [v.value for v in document.objects(node, VCARD + "hasURL")],
    }


def google_dataset(document: Document, urls: Urls, title: str) -> list[Triple]:
    """The schema.org statements, as Google Dataset Search wants them on the page.

    Google reads ``url`` as the one page that describes the dataset (this page), so the
    catalogue landing pages become ``sameAs``; and it wants a description of 50 to 5000
    characters, made from the publisher's text by :func:`google_description`.
    """
    thing = NamedNode(document.thing)
    url, same_as, text = NamedNode(SCHEMA + "url"), NamedNode(SCHEMA + "sameAs"), NamedNode(SCHEMA + "description")
    triples = []
    published = ""
    for triple in select(document.triples, "schema"):
        if triple.subject == thing and triple.predicate == url:
            triples.append(Triple(thing, same_as, triple.object))
        elif triple.subject == thing and triple.predicate == text:
            published = term_value(triple.object)
        else:
            triples.append(triple)
    triples.append(Triple(thing, url, NamedNode(urls.base + document.path)))
    triples.append(Triple(thing, text, Literal(google_description(document, urls, title, published))))
    return triples


def google_description(document: Document, urls: Urls, title: str, published: str) -> str:
    """The publisher's description, cut to Google's 5000 characters or, when shorter than
    its 50, followed by the record's own facts (:func:`record_facts`).

    Many catalogues publish the title again as the description; Google shows the title
    beside the description, so a description that only repeats it is left out, and the
    title is never used to lengthen one.
    """
    summary = " ".join(published.split())
    if summary.rstrip(" .").casefold() == title.strip().rstrip(" .").casefold():
        summary = ""
    if len(summary) < GOOGLE_DESCRIPTION[0]:
        summary = _sentences(summary, record_facts(document, urls))
    if len(summary) < GOOGLE_DESCRIPTION[0]:
        summary = _sentences(summary, GOOGLE_LAST_RESORT)
    return _summary(summary, GOOGLE_DESCRIPTION[1])


def record_facts(document: Document, urls: Urls) -> str:
    """One sentence of what the record says about the study besides its texts: kind,
    catalogue, years, countries, sample size and a few keywords ("" if it says none).

    "Dataset from CLOSER covering 1965, United Kingdom; sample size 15,425; keywords: …"
    """
    thing, labels = document.thing, Labels(document, urls)

    def labelled(predicate: str, prefix: str = "") -> list[str]:
        objects = document.objects(thing, predicate)
        return sorted({labels.link(o.value).label for o in objects if isinstance(o, NamedNode) and o.value.startswith(prefix)})

    kind = (labelled(DCT + "type") or ["study"])[0]
    sources = labelled(SCHEMA + "includedInDataCatalog") or labelled(urls.vocab + "source")
    coverage = _years(document) + labelled(DCT + "spatial", EU_COUNTRY)
    head = kind[:1].upper() + kind[1:]
    if sources:
        head += " from " + " and ".join(sources)
    if coverage:
        head += " covering " + ", ".join(coverage)
    clauses = [f"sample size {int(o.value):,}" for o in document.objects(thing, urls.vocab + "sampleSize")[:1]]
    keywords = sorted({o.value for o in document.objects(thing, DCAT + "keyword")})
    if keywords:
        clauses.append("keywords: " + ", ".join(keywords[:RECORD_FACT_KEYWORDS]))
    if not (sources or coverage or clauses):
        return ""
    return "; ".join([head, *clauses]) + "."


def _years(document: Document) -> list[str]:
    """The study's period as years ("1965", "2002–2011", "2002 onwards"), if it has one."""
    for node in document.objects(document.thing, DCT + "temporal"):
        start = [v.value[:4] for v in document.objects(node.value, DCAT + "startDate")]
        end = [v.value[:4] for v in document.objects(node.value, DCAT + "endDate")]
        if start and end:
            return [start[0] if start == end else f"{start[0]}–{end[0]}"]
        if start or end:
            return [f"{start[0]} onwards" if start else f"until {end[0]}"]
    return []


def _sentences(first: str, second: str) -> str:
    """Two pieces of text as consecutive sentences."""
    if not (first and second):
        return first or second
    return f"{first} {second}" if first.endswith((".", "!", "?")) else f"{first}. {second}"


def node_view(document: Document, urls: Urls, index: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    labels = Labels(document, urls)
    page = page_number()
    size = NODE_PAGE_SIZE
    total, hits = 0, []
    kind = INDEX_KINDS.get(document.kind)
    if index is not None and kind is not None:
        total, hits = index.linked(kind, document.key, page=page, size=size)
    elif document.kind == "related":
        hits = _naming_studies(document, urls, labels)
        total = len(hits)
    homepage = document.objects(document.thing, FOAF + "homepage")
    same_as = [] if document.thing.startswith(urls.base) else [document.thing]
    node = {
        "label": labels.labels.get(document.thing, document.key),
        "kind_label": KIND_LABELS.get(document.kind, document.kind),
        "homepage": homepage[0].value if homepage else None,
        "same_as": same_as,
        "total": total,
        "hits": hits,
        "first": (page - 1) * size + 1,
    }
    return node, pager(page, size, total)


@dataclass(frozen=True)
class StudyLink:
    """A study as a node page lists it."""

    slug: str
    title: str
    start_year: int | None = None
    end_year: int | None = None


def _naming_studies(document: Document, urls: Urls, labels: Labels) -> list[StudyLink]:
    """The studies of this catalogue whose records name the document's thing."""
    prefix = f"{urls.base}/items/"
    found = {term_value(t.subject) for t in document.triples if term_value(t.object) == document.thing and term_value(t.subject).startswith(prefix)}
    return sorted((StudyLink(s[len(prefix):].removesuffix("#id"), labels.link(s).label) for s in found), key=lambda s: s.title.lower())


def list_total(document: Document) -> int:
    return next((int(term_value(t.object)) for t in document.triples if t.predicate.value.endswith("#totalItems")), 0)


def list_view(document: Document, urls: Urls, index: Any) -> dict[str, Any]:
    """A list document (``/keywords``) as a page: each node with its number of studies."""
    kind = INDEX_KINDS[document.key]
    total, nodes = index.nodes(kind, page=page_number(), size=LIST_PAGE_SIZE)
    title = next((term_value(t.object) for t in document.triples if t.predicate.value == DCT + "title"), document.key)
    return {
        "title": title,
        "total": total,
        "first": (page_number() - 1) * LIST_PAGE_SIZE + 1,
        "nodes": [{"label": n.label, "href": f"/{document.key}/{n.key}", "count": n.count} for n in nodes],
    }


def profile_view(document: Document) -> dict[str, Any]:
    def value(predicate: str) -> list[str]:
        return [term_value(t.object) for t in document.triples if t.predicate.value == predicate]

    return {
        "uri": document.thing,
        "title": (value(DCT + "title") or [document.key])[0],
        "description": (value(DCT + "description") or [""])[0],
        "token": document.key,
        "profile_of": value(PROF + "isProfileOf"),
    }


def catalog_view(document: Document, urls: Urls) -> dict[str, Any]:
    labels = Labels(document, urls)
    total = next((int(term_value(t.object)) for t in document.triples if t.predicate.value.endswith("#totalItems")), 0)
    pages = {t.predicate.value.rsplit("#", 1)[1]: term_value(t.object)[len(urls.base):] for t in document.triples if t.predicate.value.rsplit("#", 1)[-1] in ("next", "previous", "first", "last")}
    return {
        "title": labels.labels.get(document.thing, "Catalogue"),
        "total": total,
        "catalogues": [labels.link(o.value) for o in document.objects(document.thing, DCAT + "catalog")],
        "datasets": [labels.link(o.value) for o in document.objects(document.thing, DCAT + "dataset")],
        "pages": pages,
    }


def vocabulary_view(document: Document) -> list[dict[str, str]]:
    terms: dict[str, dict[str, str]] = {}
    for triple in document.triples:
        subject = term_value(triple.subject)
        if "#" not in subject:
            continue
        term = terms.setdefault(subject, {"iri": subject, "name": subject.rsplit("#", 1)[1]})
        if triple.predicate.value in (RDFS + "label", SKOS + "prefLabel"):
            term["label"] = term_value(triple.object)
        elif triple.predicate.value in (RDFS + "comment", SKOS + "definition"):
            term["comment"] = term_value(triple.object)
        elif triple.predicate.value == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type":
            term["type"] = term_value(triple.object).rsplit("#", 1)[-1]
    return sorted(terms.values(), key=lambda t: t["name"])


def rules_view(urls: Urls) -> list[dict[str, str]]:
    """The studygraph profile's rules for /shapes: violations first, then by name."""
    profile = load_profile("studygraph", urls.base)
    rules = sorted(profile.rules.values(), key=lambda r: (r.severity != "Violation", r.key))
    return [{"key": r.key, "name": r.name, "severity": r.severity, "path": _path_label(r.path), "message": r.message} for r in rules]


def _path_label(path: str | None) -> str:
    """A property path as a person reads it: ``schema:name``, ``^dcat:dataset``."""
    if not path:
        return ""
    return re.sub(r"<([^>]*)>", lambda m: curie(m.group(1)), path)


def validation_view(document: Document, urls: Urls) -> dict[str, Any]:
    """/validation's rows, read back from its statements: each rule broken (severity,
    name, studies, links), and the studies with violations and with warnings."""
    profile = load_profile("studygraph", urls.base)
    report = NamedNode(document.thing)
    conforms = next((term_value(t.object) == "true" for t in document.triples if t.subject == report and t.predicate.value == SH + "conforms"), True)
    measured: dict[str, dict[str, str]] = {}
    for triple in document.triples:
        if isinstance(triple.subject, NamedNode) and triple.subject.value.startswith(document.thing + "#"):
            measured.setdefault(triple.subject.value, {})[triple.predicate.value] = term_value(triple.object)
    rules: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for measurement, values in measured.items():
        key = measurement.rsplit("#", 1)[1]  # a rule's key, or violations / warnings
        if DQV + "isMeasurementOf" not in values:
            totals[key] = int(values.get(DQV + "value", "0"))
            continue
        rule = profile.rules.get(key)
        rules.append({"key": key, "name": rule.name if rule else key, "severity": rule.severity if rule else "",
                      "message": rule.message if rule else "", "count": int(values.get(DQV + "value", "0")),
                      "studies": f"/items?rule={key}", "shape": f"/shapes#{key}"})
    rules.sort(key=lambda r: (r["severity"] != "Violation", -int(r["count"]), str(r["key"])))
    return {"conforms": conforms, "rules": rules, "violations": totals.get("violations", 0), "warnings": totals.get("warnings", 0)}


def paragraphs(text: str) -> list[str]:
    """Paragraphs of a description as published: blank lines or single newlines split them."""
    return [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def script_json(data: Any) -> str:
    """JSON safe to put inside ``<script>``: no ``</script>`` or ``<!--`` can close it."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _summary(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


def page_number() -> int:
    """The request's ``?page=`` (server.params.page: a bad one is a 400, never page 1)."""
    return params.page(request.args)


def pager(page: int, size: int, total: int) -> dict[str, Any] | None:
    last = max(1, -(-total // size))
    return {
        "page": page,
        "last": last,
        "previous": page_url(request.path, request, page - 1) if page > 1 else None,
        "next": page_url(request.path, request, page + 1) if page < last else None,
    }
