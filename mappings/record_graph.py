"""The triples one record makes, collected as N-Triples text, in the graphs they belong to.

A :class:`RecordGraph` is what the profile writes into: statements made of terms from
:mod:`mappings.terms`, kept in order without duplicates, plus the warnings raised while
mapping. Each statement is filed where it belongs by one rule, so no handler has to
think about it: a statement about the record itself or one of the things inside its
document (``<doc>``, ``<doc#…>``), or one that points at them, is the record's own and
goes into the record's graph; a statement about anything else (a keyword, a sponsor, a
country, a licence page) is part of that thing's shared description, kept once in the
thing's own graph (:meth:`mappings.urls.Urls.description_graph`) however many records
name it. That is what keeps the union of all graphs a set.

It renders as N-Quads (for the bulk loader and exports) or as N-Triples for the body of
a SPARQL ``INSERT DATA`` (for the transactional path) — the same text either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .namespaces import RDF
from .terms import iri
from .urls import Urls

A = f"<{RDF}type>"
#: The longest warning message kept (the rest is cut).
WARNING_LENGTH = 300


@dataclass
class Warning_:
    """Something in a record that was repaired or dropped while mapping it."""

    field: str
    message: str
    #: The profile rule (a shape of ``mappings/shapes``, by its name) the record broke,
    #: when the repair or drop was made because of one: the validator reports it as that
    #: rule's finding, since the published graph no longer shows what was wrong.
    rule: str | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


Statement = tuple[str, str, str]


@dataclass(frozen=True)
class Description:
    """What one record says about a shared thing, for that thing's graph."""

    #: The thing's IRI.
    subject: str
    #: The graph that holds its description.
    graph: str
    ntriples: str


@dataclass
class RecordGraph:
    """The statements of one record: its own (the graph named by the record's document
    URL) and its descriptions of the shared things it names."""

    name: str
    urls: Urls
    statements: dict[Statement, None] = field(default_factory=dict)
    #: Statements about shared things, by subject term.
    shared: dict[str, dict[Statement, None]] = field(default_factory=dict)
    warnings: list[Warning_] = field(default_factory=list)
    #: Every statement added, in order: what :meth:`undo` takes back (a reference each).
    _added: list[Statement] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._document = f"<{self.name}>"
        self._inside = f"<{self.name}#"

    def _own(self, term: str) -> bool:
        return term == self._document or term.startswith(self._inside)

    def _holder(self, subject: str, obj: str) -> dict[Statement, None]:
        """Where a statement about *subject* pointing at *obj* is filed."""
        if self._own(subject) or self._own(obj) or not subject.startswith("<"):
            return self.statements
        held = self.shared.get(subject)
        if held is None:
            held = self.shared[subject] = {}
        return held

    def add(self, subject: str, predicate: str, obj: str) -> None:
        """Add a statement; *subject*, *predicate* and *obj* are N-Triples terms.

        The hottest path of the mapping (some 370 calls a record): the rule of
        :meth:`_holder` (and :meth:`_own`) is written out here rather than called."""
        statement = (subject, predicate, obj)
        holder: dict[Statement, None] | None
        document, inside = self._document, self._inside
        if subject == document or subject.startswith(inside) or obj == document or obj.startswith(inside) or not subject.startswith("<"):
            holder = self.statements
        else:
            holder = self.shared.get(subject)
            if holder is None:
                holder = self.shared[subject] = {}
        size = len(holder)
        holder[statement] = None
        if len(holder) != size:
            self._added.append(statement)

    def mark(self) -> int:
        """A point to :meth:`undo` back to."""
        return len(self._added)

    def undo(self, mark: int) -> None:
        """Take back every statement added since *mark*: a field whose value fails
        half-way leaves no half-written node behind."""
        for subject, predicate, obj in reversed(self._added[mark:]):
            holder = self._holder(subject, obj)
            del holder[(subject, predicate, obj)]
            if not holder and holder is not self.statements:
                del self.shared[subject]
        del self._added[mark:]

    def add_all(self, statements: tuple[Statement, ...]) -> None:
        """Add statements already made (N-Triples terms), in their order."""
        for statement in statements:
            self.add(*statement)

    def described(self) -> Iterator[Statement]:
        """The statements about shared things, in the order they were made."""
        for statements in self.shared.values():
            yield from statements

    def descriptions(self) -> list[Description]:
        """The record's description of each shared thing it names, with its graph."""
        return [
            Description(subject[1:-1], self.urls.description_graph(subject[1:-1]), "".join(f"{s} {p} {o} .\n" for s, p, o in statements))
            for subject, statements in self.shared.items()
        ]

    def typed(self, subject: str, *classes: str) -> None:
        """Give *subject* each class (IRIs, not yet bracketed)."""
        for cls in classes:
            self.add(subject, A, f"<{cls}>")

    def warn(self, field_name: str, message: str, *, rule: str | None = None) -> None:
        """Note a repair or a drop. Messages quote values, which may be huge (a list of
        100,000 keywords): they are cut to one line's worth."""
        if len(message) > WARNING_LENGTH:
            message = message[: WARNING_LENGTH - 1] + "…"
        self.warnings.append(Warning_(field_name, message, rule))

    def __len__(self) -> int:
        return len(self.statements) + sum(map(len, self.shared.values()))

    def nquads(self) -> str:
        """Everything, each statement in its graph."""
        own = self.own_nquads()
        described = "".join(
            f"{s} {p} {o} <{self.urls.description_graph(subject[1:-1])}> .\n"
            for subject, statements in self.shared.items()
            for s, p, o in statements
        )
        return own + described

    def own_nquads(self) -> str:
        """The record's own statements as N-Quads in its graph (for the bulk loader)."""
        graph = iri(self.name)
        return "".join(f"{s} {p} {o} {graph} .\n" for s, p, o in self.statements)

    def own_ntriples(self) -> str:
        """The record's own statements: the content of its graph."""
        return "".join(f"{s} {p} {o} .\n" for s, p, o in self.statements)

    def ntriples(self) -> str:
        """Everything the record says, its own statements and its descriptions."""
        return self.own_ntriples() + "".join(f"{s} {p} {o} .\n" for s, p, o in self.described())
