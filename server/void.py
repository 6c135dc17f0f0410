"""The VoID description at ``/.well-known/void``, computed from the store.

Counting distinct subjects over millions of statements takes seconds, so the figures are
computed once per state of the store (the latest change in the change log), in a
background thread, and served from memory; while a new computation runs the previous
figures are served, and only the very first request waits for them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Triple

from studygraph import queries
from studygraph.graph.catalogue import Catalogue
from studygraph.mappings.formats import SYNTAX_BY_NAME
from studygraph.mappings.identifiers import DOI_RESOLVER
from studygraph.mappings.namespaces import DCT, PREFIXES, RDF, VOID, W3C_FORMATS, XSD, vocab_namespace
from studygraph.mappings.urls import AUTHORITIES

LINK_TARGETS = {"doi": DOI_RESOLVER, **AUTHORITIES}
VOCABULARIES = ("dcat", "dct", "schema", "foaf", "skos", "prov", "adms")


@dataclass
class Figures:
    state: int
    counts: dict[str, int]
    classes: list[tuple[str, int]]
    properties: list[tuple[str, int]]
    links: dict[str, int]
    examples: list[str]


def compute(store: Catalogue, base_url: str, state: int) -> Figures:
    row = next(iter(queries.solutions(store.query(queries.load("void_counts"), {"space": Literal(base_url + "/")}))), None)
    counts = {k: int(row[k].value) for k in ("triples", "subjects", "objects", "entities")} if row else dict.fromkeys(("triples", "subjects", "objects", "entities"), 0)
    classes = [(r["class"].value, int(r["entities"].value)) for r in queries.solutions(store.query(queries.load("void_classes")))]
    properties = [(r["property"].value, int(r["triples"].value)) for r in queries.solutions(store.query(queries.load("void_properties")))]
    links = {}
    for name, target in LINK_TARGETS.items():
        found = next(iter(queries.solutions(store.query(queries.load("void_links"), {"target": Literal(target)}))), None)
        links[name] = int(found["triples"].value) if found else 0
    examples = [r["study"].value for r in queries.solutions(store.query(queries.load("void_examples")))]
    return Figures(state, counts, classes, properties, links, examples)


class VoidCache:
    def __init__(self, store: Catalogue, base_url: str) -> None:
        self.store = store
        self.base_url = base_url
        self._figures: Figures | None = None
        self._lock = threading.Lock()
        self._running: threading.Thread | None = None

    def _state(self) -> int:
        return self.store.changes.latest() if self.store.changes is not None else 0

    def figures(self) -> Figures:
        state = self._state()
        with self._lock:
            current = self._figures
            if current is not None and current.state == state:
                return current
            if self._running is None or not self._running.is_alive():
                self._running = threading.Thread(target=self._compute, args=(state,), name="void", daemon=True)
                self._running.start()
            running = self._running
        if current is None:
            running.join()
            return self._figures  # type: ignore[return-value]
        return current

    def close(self, seconds: float) -> bool:
        """Wait (up to *seconds*) for figures being computed, before the store is closed;
        False if they were still being computed."""
        with self._lock:
            running = self._running
        if running is None:
            return True
        running.join(seconds)
        return not running.is_alive()

    def _compute(self, state: int) -> None:
        figures = compute(self.store, self.base_url, state)
        with self._lock:
            if self._figures is None or self._figures.state <= state:
                self._figures = figures


def void_triples(figures: Figures, base_url: str) -> list[Triple]:
    dataset = NamedNode(f"{base_url}/.well-known/void#dataset")
    a = NamedNode(RDF + "type")

    def v(term: str) -> NamedNode:
        return NamedNode(VOID + term)

    def integer(value: int) -> Literal:
        return Literal(str(value), datatype=NamedNode(XSD + "integer"))

    triples = [
        Triple(dataset, a, v("Dataset")),
        Triple(dataset, NamedNode(DCT + "title"), Literal("studygraph research-study catalogue")),
        Triple(dataset, NamedNode(DCT + "description"), Literal(
            "Research-study records as DCAT and schema.org. void:triples counts the statements of all graphs "
            "(each statement once: a linked node's description is kept in its own graph).")),
        Triple(dataset, v("sparqlEndpoint"), NamedNode(f"{base_url}/sparql")),
        Triple(dataset, v("dataDump"), NamedNode(f"{base_url}/dump.nq.gz")),
        Triple(dataset, v("uriSpace"), Literal(base_url + "/")),
        Triple(dataset, v("rootResource"), NamedNode(f"{base_url}/catalog#id")),
        Triple(dataset, v("feature"), NamedNode(W3C_FORMATS + SYNTAX_BY_NAME["nq"].w3c_name)),
        Triple(dataset, v("triples"), integer(figures.counts["triples"])),
        Triple(dataset, v("entities"), integer(figures.counts["entities"])),
        Triple(dataset, v("distinctSubjects"), integer(figures.counts["subjects"])),
        Triple(dataset, v("distinctObjects"), integer(figures.counts["objects"])),
        Triple(dataset, v("classes"), integer(len(figures.classes))),
        Triple(dataset, v("properties"), integer(len(figures.properties))),
    ]
    for prefix in VOCABULARIES:
        triples.append(Triple(dataset, v("vocabulary"), NamedNode(PREFIXES[prefix])))
    triples.append(Triple(dataset, v("vocabulary"), NamedNode(vocab_namespace(base_url))))
    for example in figures.examples:
        triples.append(Triple(dataset, v("exampleResource"), NamedNode(example)))
    for number, (cls, count) in enumerate(figures.classes):
        partition = NamedNode(f"{base_url}/.well-known/void#class-{number}")
        triples += [Triple(dataset, v("classPartition"), partition), Triple(partition, v("class"), NamedNode(cls)), Triple(partition, v("entities"), integer(count))]
    for number, (prop, count) in enumerate(figures.properties):
        partition = NamedNode(f"{base_url}/.well-known/void#property-{number}")
        triples += [Triple(dataset, v("propertyPartition"), partition), Triple(partition, v("property"), NamedNode(prop)), Triple(partition, v("triples"), integer(count))]
    for name, count in figures.links.items():
        linkset = NamedNode(f"{base_url}/.well-known/void#links-{name}")
        target = NamedNode(f"{base_url}/.well-known/void#target-{name}")
        triples += [
            Triple(linkset, a, v("Linkset")),
            Triple(linkset, v("subjectsTarget"), dataset),
            Triple(linkset, v("objectsTarget"), target),
            Triple(target, a, v("Dataset")),
            Triple(target, v("uriSpace"), Literal(LINK_TARGETS[name])),
            Triple(linkset, v("triples"), integer(count)),
            Triple(dataset, v("subset"), linkset),
        ]
    return triples
