"""The studygraph profile: its shapes by name, its rules, and the findings of a record.

The profile is three SHACL files in ``mappings/shapes`` — ``studygraph.ttl`` (what the
mapping promises beyond the standards), ``dcat-ap.ttl`` (DCAT-AP 3.0.1) and
``google.ttl`` (Google Dataset Search) — each shape a *rule* with an IRI under the
catalogue's ``/shapes`` document (``<BASE/shapes#Study-name>``), so that every finding
links to the rule it broke. ``--shapes dcat-ap`` or ``google`` validates against one
file alone; any other SHACL file can be given by path.

A record's findings come from two places: the shapes run on its mapped graph, and the
mapping's own repairs — a sponsor without a name is dropped, a period that ends before
it starts too, so the published graph no longer shows what was wrong; the mapping names
the rule it enforced (``Warning_.rule``) and the finding is reported under it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from . import shacl
from .nodes import Link
from .record_graph import Statement
from .records import RecordError

if TYPE_CHECKING:
    from .profile import MappedRecord

SHAPES_FOLDER = Path(__file__).resolve().parent / "shapes"
#: Profile name -> its shapes files, in report order.
PROFILES: dict[str, tuple[str, ...]] = {
    "studygraph": ("studygraph.ttl", "dcat-ap.ttl", "google.ttl"),
    "dcat-ap": ("dcat-ap.ttl",),
    "google": ("google.ttl",),
}
#: How ``--validate`` treats findings: not looked for; reported; violations refused.
MODES = ("off", "warn", "error")
#: The severities, most serious first (``sh:Violation`` ...).
SEVERITIES = shacl.SEVERITIES
#: The index's quality keys: records with violations, records with warnings.
QUALITY_KINDS = {"Violation": ("violations", "Has violations"), "Warning": ("warnings", "Has warnings")}
#: The link kinds the index keeps findings under (facets ``rule`` and ``quality``).
RULE_KIND, QUALITY_KIND = "rule", "quality"


def shapes_document(base_url: str) -> str:
    """The URL of the document holding the profile's shapes (``BASE/shapes``)."""
    return f"{base_url}/shapes"


@dataclass(frozen=True)
class Rule:
    """One shape of the profile, as findings and /validation name it."""

    key: str
    iri: str
    name: str
    severity: str
    message: str
    #: The property path it checks (N-Triples / SPARQL path text), None for a node rule.
    path: str | None = None


@dataclass(frozen=True)
class Result:
    """One finding about one record, as it is kept and shown: terms in N-Triples."""

    rule: str
    severity: str
    focus: str
    path: str | None
    value: str | None
    message: str

    def as_json(self) -> dict[str, str | None]:
        # By hand: dataclasses.asdict deep-copies, and every record written keeps ten of these.
        return {"rule": self.rule, "severity": self.severity, "focus": self.focus, "path": self.path, "value": self.value, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, str | None]) -> Result:
        return cls(str(data["rule"]), str(data["severity"]), str(data["focus"]), data.get("path"), data.get("value"), str(data["message"]))


class Profile:
    """Compiled shapes with their rules: what validates records."""

    def __init__(self, name: str, shapes: shacl.Shapes, base_url: str) -> None:
        self.name = name
        self.shapes = shapes
        self._prefix = f"<{shapes_document(base_url)}#"
        self.rules: dict[str, Rule] = {}
        for term, shape in shapes.by_id.items():
            # A rule is a named shape that checks something itself (not a container of rules).
            if term.startswith("<") and shape.constraints:
                key = self.rule_key(term)
                self.rules[key] = Rule(key, term[1:-1], shape.name or key, shape.severity, shape.message or "", shape.path_text)

    def rule_key(self, shape: str) -> str:
        """A shape's rule key: its fragment for the profile's own shapes, else its term."""
        return shape[len(self._prefix) : -1] if shape.startswith(self._prefix) else shape

    def check(self, statements: Iterable[Statement]) -> list[Result]:
        """The findings of a graph's statements (N-Triples terms)."""
        return [
            Result(self.rule_key(f.shape), f.severity, f.focus, f.path, f.value, f.message)
            for f in self.shapes.validate(statements)
        ]

    def check_mapped(self, mapped: MappedRecord) -> list[Result]:
        """The findings of a freshly mapped record: its graph's, then its repairs'."""
        found = self.check([*mapped.graph.statements, *mapped.graph.described()])
        return found + self.repairs(mapped, found)

    def repairs(self, mapped: MappedRecord, found: Sequence[Result] = ()) -> list[Result]:
        """The findings of the mapping's repairs (each rule once for the study, and not
        where *found* already has it): what the published graph cannot show."""
        study = f"<{mapped.name}#id>"
        seen = {(r.rule, r.focus) for r in found}
        repaired = []
        for warning in mapped.graph.warnings:
            rule = self.rules.get(warning.rule) if warning.rule else None
            if rule is not None and (rule.key, study) not in seen:
                seen.add((rule.key, study))
                repaired.append(Result(rule.key, rule.severity, study, None, None, f"{rule.message} ({warning.field}: {warning.message})"))
        return repaired

    def quality_links(self, results: Sequence[Result]) -> tuple[Link, ...]:
        """What the search index keeps of a record's findings: a link to each rule broken
        (facet ``rule``, role the severity) and its quality (facet ``quality``)."""
        links: dict[tuple[str, str], Link] = {}
        for result in results:
            rule = self.rules.get(result.rule)
            links.setdefault((RULE_KIND, result.rule), Link(result.severity.lower(), RULE_KIND, result.rule, rule.name if rule else result.rule))
            if result.severity in QUALITY_KINDS:
                key, label = QUALITY_KINDS[result.severity]
                links.setdefault((QUALITY_KIND, key), Link("", QUALITY_KIND, key, label))
        return tuple(links.values())


def is_repair(result: Result) -> bool:
    """Whether a finding is a repair's (:meth:`Profile.repairs`): the only findings with
    neither a path nor a value (a shape's finding has one or the other: a node rule's
    value is its focus node)."""
    return result.path is None and result.value is None


def violations(results: Iterable[Result]) -> list[Result]:
    return [r for r in results if r.severity == "Violation"]


def results_json(results: Sequence[Result]) -> str:
    """Findings as kept in the index (a JSON array)."""
    return json.dumps([r.as_json() for r in results], ensure_ascii=False, separators=(",", ":"))


def results_from_json(text: str | None) -> list[Result]:
    return [Result.from_json(item) for item in json.loads(text)] if text else []


def profile_turtle(name: str) -> str:
    """The Turtle of a named profile's files, as written (relative IRIs: the base is the
    catalogue's ``/shapes`` document)."""
    return "\n".join((SHAPES_FOLDER / file).read_text(encoding="utf-8") for file in PROFILES[name])


@lru_cache(maxsize=16)
def load_profile(name: str, base_url: str) -> Profile:
    """A named profile (:data:`PROFILES`) or a SHACL file by path, compiled once per
    base URL. Raises :class:`shacl.ShapesError` for a file that cannot be used."""
    if name in PROFILES:
        shapes = shacl.compile_shapes(profile_turtle(name), base_iri=shapes_document(base_url))
        return Profile(name, shapes, base_url)
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise shacl.ShapesError(f"cannot read the shapes file {name}: {error}") from None
    # Shapes written for schema.org's old http namespace (science-on-schema.org's) check
    # our https statements.
    shapes = shacl.compile_shapes(text, base_iri=path.resolve().as_uri(), rename={"http://schema.org/": "https://schema.org/"})
    return Profile(path.name, shapes, base_url)


class ProfileViolation(RecordError):
    """A record refused under ``--validate=error``: it violates the profile."""

    def __init__(self, results: Sequence[Result]) -> None:
        shown = "; ".join(f"{r.rule}: {r.message}" + (f" [{r.value}]" if r.value else "") for r in results[:3])
        more = f" (and {len(results) - 3} more)" if len(results) > 3 else ""
        super().__init__("profile", f"violates the studygraph profile: {shown}{more}")
        self.results = list(results)


@dataclass(frozen=True)
class Gate:
    """What ``--validate`` (``off``, ``warn``, ``error``) does with a mapped record."""

    mode: str
    profile: Profile | None

    def inspect(self, mapped: MappedRecord) -> tuple[Result, ...] | None:
        """The record's findings (None when validation is off); under ``error`` a record
        with a violation raises :class:`ProfileViolation` instead."""
        if self.profile is None:
            return None
        results = tuple(self.profile.check_mapped(mapped))
        if self.mode == "error" and (broken := violations(results)):
            raise ProfileViolation(broken)
        return results

    def links(self, results: Sequence[Result] | None) -> tuple[Link, ...]:
        return self.profile.quality_links(results) if self.profile is not None and results else ()


def gate(mode: str, base_url: str) -> Gate:
    """The gate of *mode* with the studygraph profile under *base_url*."""
    if mode not in MODES:
        raise ValueError(f"--validate must be one of {', '.join(MODES)}, not {mode!r}")
    return Gate(mode, None if mode == "off" else load_profile("studygraph", base_url))
