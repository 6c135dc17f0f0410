"""The triples of one record's named graph, collected as N-Triples text.

A :class:`RecordGraph` is what the profile writes into: statements made of terms from
:mod:`mappings.terms`, kept in order without duplicates, plus the warnings raised while
mapping. It renders as N-Quads (for the bulk loader and exports) or as the body of a
SPARQL ``INSERT DATA`` (for the transactional path) — the same text either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .terms import RDF, iri

A = f"<{RDF}type>"


@dataclass
class Warning_:
    """Something in a record that was repaired or dropped while mapping it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass
class RecordGraph:
    """The statements of one record's graph, named by the record's document URL."""

    name: str
    statements: dict[tuple[str, str, str], None] = field(default_factory=dict)
    warnings: list[Warning_] = field(default_factory=list)

    def add(self, subject: str, predicate: str, obj: str) -> None:
        """Add a statement; *subject*, *predicate* and *obj* are N-Triples terms."""
        self.statements[(subject, predicate, obj)] = None

    def add_all(self, statements: tuple[tuple[str, str, str], ...]) -> None:
        """Add statements already made (N-Triples terms), in their order."""
        self.statements.update(dict.fromkeys(statements))

    def typed(self, subject: str, *classes: str) -> None:
        """Give *subject* each class (IRIs, not yet bracketed)."""
        for cls in classes:
            self.add(subject, A, f"<{cls}>")

    def warn(self, field_name: str, message: str) -> None:
        self.warnings.append(Warning_(field_name, message))

    def __len__(self) -> int:
        return len(self.statements)

    def nquads(self) -> str:
        graph = iri(self.name)
        return "".join(f"{s} {p} {o} {graph} .\n" for s, p, o in self.statements)

    def ntriples(self) -> str:
        return "".join(f"{s} {p} {o} .\n" for s, p, o in self.statements)
