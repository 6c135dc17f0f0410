"""A SHACL Core validator, compiled once, that checks one record's graph in microseconds.

Validation runs at publish time on every record of a load (``--validate``), so it must
cost a small part of mapping the record: pySHACL over rdflib takes tens of milliseconds
a record, more than the whole load. The shapes are therefore read once into plain Python
checks (:func:`compile_shapes`), and a record's statements — the N-Triples terms the
mapping writes, or ``str()`` of the store's terms — are indexed by subject and checked
against them (:meth:`Shapes.validate`), with no RDF library in between.

What is implemented is SHACL Core as the shapes we know use it: the targets
(``sh:targetClass``, ``targetNode``, ``targetSubjectsOf``, ``targetObjectsOf``);
predicate, inverse, sequence and alternative paths; ``minCount``/``maxCount``,
``nodeKind``, ``datatype``, ``class``, ``node``, ``property``, ``and``/``or``/``not``/
``xone``, ``in``, ``hasValue``, ``minLength``/``maxLength``, ``pattern``/``flags``,
``languageIn``, ``uniqueLang``, ``lessThan``/``lessThanOrEquals``, ``equals``,
``disjoint``, the four range constraints; ``severity``, ``message``, ``deactivated``.
A shapes file that uses a Core component not in this list (``sh:closed``,
``sh:qualifiedValueShape``, the zero-or-more paths) or SHACL-SPARQL is refused when it is
compiled, naming what it uses, rather than half-checked. Classes are matched by
``rdf:type`` and the data's own ``rdfs:subClassOf``. The tests run pySHACL on the same
shapes and data and compare the findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pyoxigraph

from .namespaces import RDF, RDFS, SH, XSD

Statement = tuple[str, str, str]

_TYPE = f"<{RDF}type>"
_SUBCLASS = f"<{RDFS}subClassOf>"
_FIRST, _REST, _NIL = f"<{RDF}first>", f"<{RDF}rest>", f"<{RDF}nil>"
_LANG_STRING = f"{RDF}langString"
_STRING = f"{XSD}string"

#: Severities, most serious first, as ``sh:`` local names.
SEVERITIES = ("Violation", "Warning", "Info")


class ShapesError(ValueError):
    """A shapes graph that cannot be compiled: unreadable, or using what is not implemented."""


@dataclass(frozen=True)
class Finding:
    """One validation result, as ``sh:ValidationResult`` has it (terms in N-Triples)."""

    severity: str  # "Violation", "Warning" or "Info"
    focus: str
    path: str | None
    value: str | None
    message: str
    #: The shape that made it (the property shape, else the node shape).
    shape: str
    #: The constraint component's local name (``MinCountConstraintComponent``).
    component: str


# ---------------------------------------------------------------------------- data


class DataGraph:
    """One record's statements, indexed for the checks."""

    def __init__(self, statements: Iterable[Statement]) -> None:
        self.out: dict[str, dict[str, list[str]]] = {}
        self._in: dict[str, dict[str, list[str]]] | None = None
        out = self.out
        for s, p, o in statements:  # some 370 a record: no empty dict or list made per statement
            predicates = out.get(s)
            if predicates is None:
                predicates = out[s] = {}
            objects = predicates.get(p)
            if objects is None:
                predicates[p] = [o]
            elif o not in objects:
                objects.append(o)
        self._supers: dict[str, set[str]] | None = None
        self._instances: dict[str, dict[str, None]] | None = None

    def objects(self, subject: str, predicate: str) -> list[str]:
        return self.out.get(subject, {}).get(predicate, [])

    def subjects(self, predicate: str, obj: str) -> list[str]:
        if self._in is None:
            self._in = {}
            for s, predicates in self.out.items():
                for p, objects in predicates.items():
                    for o in objects:
                        self._in.setdefault(o, {}).setdefault(p, []).append(s)
        return self._in.get(obj, {}).get(predicate, [])

    def _superclasses(self) -> dict[str, set[str]]:
        if self._supers is None:
            direct: dict[str, set[str]] = {}
            for s, predicates in self.out.items():
                for o in predicates.get(_SUBCLASS, ()):
                    direct.setdefault(s, set()).add(o)
            closed: dict[str, set[str]] = {}
            for cls in direct:
                seen: set[str] = set()
                todo = list(direct[cls])
                while todo:
                    parent = todo.pop()
                    if parent not in seen:
                        seen.add(parent)
                        todo.extend(direct.get(parent, ()))
                closed[cls] = seen
            self._supers = closed
        return self._supers

    def is_instance(self, node: str, cls: str) -> bool:
        types = self.objects(node, _TYPE)
        if cls in types:
            return True
        supers = self._superclasses()
        return bool(supers) and any(cls in supers.get(t, ()) for t in types)

    def instances(self, cls: str) -> list[str]:
        """The nodes of class *cls* (or of a subclass of it), in the graph's order."""
        if self._instances is None:
            # One pass for every class: a shapes graph asks for a dozen target classes.
            supers = self._superclasses()
            by_class: dict[str, dict[str, None]] = {}
            for node, predicates in self.out.items():
                for kind in predicates.get(_TYPE, ()):
                    by_class.setdefault(kind, {})[node] = None
                    for parent in supers.get(kind, ()):
                        by_class.setdefault(parent, {})[node] = None
            self._instances = by_class
        return list(self._instances.get(cls, ()))


# ---------------------------------------------------------------------------- terms


_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_SIMPLE_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(match: re.Match[str]) -> str:
    short, long, char = match.groups()
    if short or long:
        return chr(int(short or long, 16))
    return _SIMPLE_ESCAPES.get(char, char)


def literal_parts(term: str) -> tuple[str, str, str | None]:
    """(lexical form, datatype IRI, language) of a literal in N-Triples syntax."""
    end = term.rfind('"')
    lexical = term[1:end]
    if "\\" in lexical:
        lexical = _ESCAPE.sub(_unescape, lexical)
    rest = term[end + 1 :]
    if rest.startswith("^^"):
        return lexical, rest[3:-1], None
    if rest.startswith("@"):
        return lexical, _LANG_STRING, rest[1:].lower()
    return lexical, _STRING, None


def is_literal(term: str) -> bool:
    return term.startswith('"')


def is_iri(term: str) -> bool:
    return term.startswith("<")


def is_blank(term: str) -> bool:
    return term.startswith("_:")


def string_value(term: str) -> str:
    """What ``str()`` of a SPARQL term gives: a literal's lexical form or an IRI's text."""
    if is_literal(term):
        return literal_parts(term)[0]
    return term[1:-1] if is_iri(term) else term


_NUMERIC = {f"{XSD}{name}" for name in (
    "integer", "decimal", "double", "float", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
    "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}
_TEMPORAL = {f"{XSD}{name}" for name in ("date", "dateTime", "dateTimeStamp", "gYear", "gYearMonth", "time")}
_LEXICAL_CHECKS: dict[str, re.Pattern[str]] = {
    f"{XSD}integer": re.compile(r"^[+-]?\d+$"),
    f"{XSD}decimal": re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$"),
    f"{XSD}boolean": re.compile(r"^(true|false|1|0)$"),
    f"{XSD}date": re.compile(r"^-?\d{4,}-\d\d-\d\d(Z|[+-]\d\d:\d\d)?$"),
    f"{XSD}dateTime": re.compile(r"^-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$"),
    f"{XSD}gYear": re.compile(r"^-?\d{4,}(Z|[+-]\d\d:\d\d)?$"),
    f"{XSD}gYearMonth": re.compile(r"^-?\d{4,}-\d\d(Z|[+-]\d\d:\d\d)?$"),
}


def _comparable(term: str) -> tuple[str, object] | None:
    """A key two values can be ordered by, with its kind: numbers by value, dates and
    times by their ISO text (same kind only), strings by text; None for IRIs and blanks."""
    if not is_literal(term):
        return None
    lexical, datatype, _ = literal_parts(term)
    if datatype in _NUMERIC:
        try:
            return "number", Decimal(lexical)
        except InvalidOperation:
            return None
    if datatype in _TEMPORAL:
        return datatype, lexical
    if datatype in (_STRING, _LANG_STRING):
        return "string", lexical
    return None


def _less(a: str, b: str, *, or_equal: bool) -> bool:
    """Whether ``a < b`` (or ``<=``); values that cannot be compared are not."""
    left, right = _comparable(a), _comparable(b)
    if left is None or right is None or left[0] != right[0]:
        return False
    x, y = left[1], right[1]
    return bool(x <= y if or_equal else x < y)  # type: ignore[operator]


# ---------------------------------------------------------------------------- paths


Path = Callable[[DataGraph, str], list[str]]
#: A compiled constraint: (graph, focus node, value nodes) -> (value or None, default message) per failure.
Check = Callable[[DataGraph, str, list[str]], Iterator[tuple[str | None, str]]]


def _predicate_path(predicate: str) -> Path:
    return lambda graph, node: graph.objects(node, predicate)


def _inverse_path(predicate: str) -> Path:
    return lambda graph, node: graph.subjects(predicate, node)


def _sequence_path(steps: list[Path]) -> Path:
    def walk(graph: DataGraph, node: str) -> list[str]:
        nodes = [node]
        for step in steps:
            nodes = list(dict.fromkeys(value for current in nodes for value in step(graph, current)))
        return nodes

    return walk


def _alternative_path(options: list[Path]) -> Path:
    return lambda graph, node: list(dict.fromkeys(value for option in options for value in option(graph, node)))


# ---------------------------------------------------------------------------- shapes


@dataclass
class Shape:
    """A node or property shape, compiled."""

    id: str
    severity: str = "Violation"
    message: str | None = None
    #: ``sh:name``: what a person calls the rule.
    name: str | None = None
    path: Path | None = None
    path_text: str | None = None
    targets: list[Callable[[DataGraph], Iterable[str]]] = field(default_factory=list)
    #: (component, check): a check takes (graph, focus, value nodes) and yields
    #: (value or None, default message) for each failure.
    constraints: list[tuple[str, Check]] = field(default_factory=list)
    properties: list[Shape] = field(default_factory=list)
    deactivated: bool = False

    def results(self, graph: DataGraph, focus: str) -> Iterator[Finding]:
        """Every finding of *focus* against this shape (nothing if it conforms)."""
        if self.deactivated:
            return
        values = [focus] if self.path is None else self.path(graph, focus)
        for component, check in self.constraints:
            for value, default in check(graph, focus, values):
                yield Finding(self.severity, focus, self.path_text, value, self.message or default, self.id, component)
        for prop in self.properties:
            yield from prop.results(graph, focus)

    def conforms(self, graph: DataGraph, node: str) -> bool:
        return next(self.results(graph, node), None) is None


#: Core components this compiler knows it does not implement (refused, not ignored).
_UNSUPPORTED = ("closed", "ignoredProperties", "qualifiedValueShape", "qualifiedMinCount", "qualifiedMaxCount", "sparql")
_NODE_KINDS = {
    "IRI": (True, False, False), "BlankNode": (False, True, False), "Literal": (False, False, True),
    "BlankNodeOrIRI": (True, True, False), "BlankNodeOrLiteral": (False, True, True), "IRIOrLiteral": (True, False, True),
}


class _Compiler:
    """Reads a shapes graph (pyoxigraph quads) into :class:`Shape` objects."""

    def __init__(self, statements: Iterable[Statement]) -> None:
        self.graph = DataGraph(statements)
        self.shapes: dict[str, Shape] = {}

    def sh(self, node: str, name: str) -> list[str]:
        return self.graph.objects(node, f"<{SH}{name}>")

    def one(self, node: str, name: str) -> str | None:
        values = self.sh(node, name)
        return values[0] if values else None

    def items(self, head: str) -> list[str]:
        out = []
        while head != _NIL:
            first = self.graph.objects(head, _FIRST)
            if not first:
                raise ShapesError(f"{head} is not a well-formed RDF list")
            out.append(first[0])
            head = self.graph.objects(head, _REST)[0]
        return out

    def shape_nodes(self) -> list[str]:
        """Shapes with targets: where validation starts."""
        targets = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")
        return [s for s in self.graph.out if any(self.sh(s, name) for name in targets)]

    def shape(self, node: str) -> Shape:
        if node in self.shapes:
            return self.shapes[node]
        shape = self.shapes[node] = Shape(node)
        for name in _UNSUPPORTED:
            if self.sh(node, name):
                raise ShapesError(f"shape {node} uses sh:{name}, which studygraph's validator does not implement")
        severity = self.one(node, "severity")
        if severity is not None:
            shape.severity = severity[len(SH) + 1 : -1] if severity.startswith(f"<{SH}") else severity
        messages = [literal_parts(m) for m in self.sh(node, "message") if is_literal(m)]
        if messages:
            shape.message = next((lex for lex, _, lang in messages if lang in (None, "en")), messages[0][0])
        names = [literal_parts(n) for n in self.sh(node, "name") if is_literal(n)]
        if names:
            shape.name = next((lex for lex, _, lang in names if lang in (None, "en")), names[0][0])
        shape.deactivated = self.one(node, "deactivated") in ('"true"^^<http://www.w3.org/2001/XMLSchema#boolean>', '"true"')
        path = self.one(node, "path")
        if path is not None:
            shape.path, shape.path_text = self.path(path), self.path_text(path)
        for cls in self.sh(node, "targetClass"):
            shape.targets.append(lambda graph, cls=cls: graph.instances(cls))
        for target in self.sh(node, "targetNode"):
            shape.targets.append(lambda graph, target=target: [target])
        for predicate in self.sh(node, "targetSubjectsOf"):
            shape.targets.append(lambda graph, p=predicate: [s for s, ps in graph.out.items() if p in ps])
        for predicate in self.sh(node, "targetObjectsOf"):
            shape.targets.append(lambda graph, p=predicate: list(dict.fromkeys(o for ps in graph.out.values() for o in ps.get(p, ()))))
        self.constraints(node, shape)
        shape.properties = [self.shape(prop) for prop in self.sh(node, "property")]
        return shape

    def path(self, node: str) -> Path:
        if is_iri(node):
            return _predicate_path(node)
        inverse = self.one(node, "inversePath")
        if inverse is not None:
            if not is_iri(inverse):
                raise ShapesError("sh:inversePath of a complex path is not implemented")
            return _inverse_path(inverse)
        alternative = self.one(node, "alternativePath")
        if alternative is not None:
            return _alternative_path([self.path(step) for step in self.items(alternative)])
        if self.graph.objects(node, _FIRST):
            return _sequence_path([self.path(step) for step in self.items(node)])
        raise ShapesError(f"path {node} is not implemented (zero-or-more, one-or-more and zero-or-one paths are not)")

    def path_text(self, node: str) -> str:
        if is_iri(node):
            return node
        inverse = self.one(node, "inversePath")
        if inverse is not None:
            return f"^{self.path_text(inverse)}"
        alternative = self.one(node, "alternativePath")
        if alternative is not None:
            return "(" + "|".join(self.path_text(step) for step in self.items(alternative)) + ")"
        return "/".join(self.path_text(step) for step in self.items(node))

    def constraints(self, node: str, shape: Shape) -> None:  # noqa: C901  (one branch per component)
        def add(component: str, check: Check) -> None:
            shape.constraints.append((component, check))

        for value in self.sh(node, "minCount"):
            least = int(literal_parts(value)[0])
            add("MinCountConstraintComponent", lambda g, f, vs, n=least: iter([(None, f"fewer than {n} values")] if len(vs) < n else []))
        for value in self.sh(node, "maxCount"):
            most = int(literal_parts(value)[0])
            add("MaxCountConstraintComponent", lambda g, f, vs, n=most: iter([(None, f"more than {n} values")] if len(vs) > n else []))
        for kind in self.sh(node, "nodeKind"):
            name = kind[len(SH) + 1 : -1]
            if name not in _NODE_KINDS:
                raise ShapesError(f"shape {node}: unknown sh:nodeKind {kind}")
            iri_ok, blank_ok, literal_ok = _NODE_KINDS[name]

            def node_kind(g: DataGraph, f: str, vs: list[str], i: bool = iri_ok, b: bool = blank_ok, li: bool = literal_ok,
                          name: str = name) -> Iterator[tuple[str | None, str]]:
                for v in vs:
                    if not ((i and is_iri(v)) or (b and is_blank(v)) or (li and is_literal(v))):
                        yield v, f"not a {name}"

            add("NodeKindConstraintComponent", node_kind)
        for datatype in self.sh(node, "datatype"):
            add("DatatypeConstraintComponent", _datatype_check(datatype[1:-1]))
        for cls in self.sh(node, "class"):
            add("ClassConstraintComponent", lambda g, f, vs, c=cls: ((v, f"not an instance of {c}") for v in vs if is_literal(v) or not g.is_instance(v, c)))
        for other in self.sh(node, "node"):
            inner = self.shape(other)
            add("NodeConstraintComponent", lambda g, f, vs, s=inner: ((v, f"does not conform to {s.id}") for v in vs if not s.conforms(g, v)))
        for head in self.sh(node, "or"):
            options = [self.shape(item) for item in self.items(head)]
            add("OrConstraintComponent", lambda g, f, vs, o=options: ((v, "conforms to none of the alternatives") for v in vs
                                                                        if not any(s.conforms(g, v) for s in o)))
        for head in self.sh(node, "and"):
            parts = [self.shape(item) for item in self.items(head)]
            add("AndConstraintComponent", lambda g, f, vs, o=parts: ((v, "does not conform to every shape") for v in vs
                                                                       if not all(s.conforms(g, v) for s in o)))
        for head in self.sh(node, "xone"):
            options = [self.shape(item) for item in self.items(head)]
            add("XoneConstraintComponent", lambda g, f, vs, o=options: ((v, "does not conform to exactly one shape") for v in vs
                                                                          if sum(s.conforms(g, v) for s in o) != 1))
        for other in self.sh(node, "not"):
            inner = self.shape(other)
            add("NotConstraintComponent", lambda g, f, vs, s=inner: ((v, f"conforms to {s.id}") for v in vs if s.conforms(g, v)))
        for head in self.sh(node, "in"):
            allowed = frozenset(self.items(head))
            add("InConstraintComponent", lambda g, f, vs, a=allowed: ((v, "not one of the allowed values") for v in vs if v not in a))
        for wanted in self.sh(node, "hasValue"):
            add("HasValueConstraintComponent", lambda g, f, vs, w=wanted: iter([] if w in vs else [(None, f"no value {w}")]))
        for value in self.sh(node, "minLength"):
            least = int(literal_parts(value)[0])
            add("MinLengthConstraintComponent", lambda g, f, vs, n=least: ((v, f"shorter than {n} characters") for v in vs
                                                                             if is_blank(v) or len(string_value(v)) < n))
        for value in self.sh(node, "maxLength"):
            most = int(literal_parts(value)[0])
            add("MaxLengthConstraintComponent", lambda g, f, vs, n=most: ((v, f"longer than {n} characters") for v in vs
                                                                            if is_blank(v) or len(string_value(v)) > n))
        for value in self.sh(node, "pattern"):
            flags = 0
            for flag in literal_parts(self.one(node, "flags") or '""')[0]:
                flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}.get(flag, 0)
            regex = re.compile(literal_parts(value)[0], flags)
            add("PatternConstraintComponent", lambda g, f, vs, r=regex: ((v, f"does not match {r.pattern}") for v in vs
                                                                           if is_blank(v) or not r.search(string_value(v))))
        for head in self.sh(node, "languageIn"):
            languages = [literal_parts(item)[0].lower() for item in self.items(head)]
            add("LanguageInConstraintComponent", lambda g, f, vs, ls=languages: ((v, "language not allowed") for v in vs
                                                                                   if not _language_in(v, ls)))
        if self.one(node, "uniqueLang") in ('"true"^^<http://www.w3.org/2001/XMLSchema#boolean>', '"true"'):
            add("UniqueLangConstraintComponent", _unique_lang)
        for name, or_equal in (("lessThan", False), ("lessThanOrEquals", True)):
            for other in self.sh(node, name):
                add(f"{name[0].upper()}{name[1:]}ConstraintComponent",
                     lambda g, f, vs, p=other, e=or_equal: ((v, f"not less than {w}") for v in vs for w in g.objects(f, p)
                                                             if not _less(v, w, or_equal=e)))
        for other in self.sh(node, "equals"):
            add("EqualsConstraintComponent", lambda g, f, vs, p=other: _equals(vs, g.objects(f, p)))
        for other in self.sh(node, "disjoint"):
            add("DisjointConstraintComponent", lambda g, f, vs, p=other: ((v, "also a value of the other property") for v in vs
                                                                            if v in g.objects(f, p)))
        for name in ("minInclusive", "minExclusive", "maxInclusive", "maxExclusive"):
            for bound in self.sh(node, name):
                add(f"{name[0].upper()}{name[1:]}ConstraintComponent", _range_check(name, bound))


def _datatype_check(datatype: str) -> Check:
    lexical_form = _LEXICAL_CHECKS.get(datatype)

    def check(g: DataGraph, f: str, vs: list[str]) -> Iterator[tuple[str | None, str]]:
        for v in vs:
            if not is_literal(v):
                yield v, f"not a literal of datatype <{datatype}>"
                continue
            lexical, actual, _ = literal_parts(v)
            if actual != datatype or (lexical_form is not None and not lexical_form.match(lexical)):
                yield v, f"not a literal of datatype <{datatype}>"

    return check


def _language_in(term: str, languages: list[str]) -> bool:
    if not is_literal(term):
        return False
    language = literal_parts(term)[2]
    return language is not None and any(language == x or language.startswith(x + "-") for x in languages)


def _unique_lang(g: DataGraph, f: str, vs: list[str]) -> Iterator[tuple[str | None, str]]:
    seen: dict[str, int] = {}
    for v in vs:
        if is_literal(v) and (language := literal_parts(v)[2]):
            seen[language] = seen.get(language, 0) + 1
    for language, count in seen.items():
        if count > 1:
            yield None, f"more than one value in language {language}"


def _equals(values: list[str], others: list[str]) -> Iterator[tuple[str | None, str]]:
    for v in values:
        if v not in others:
            yield v, "not a value of the other property"
    for w in others:
        if w not in values:
            yield w, "missing from the values"


def _range_check(name: str, bound: str) -> Check:
    def inside(v: str) -> bool:
        if name == "minInclusive":
            return _less(bound, v, or_equal=True)
        if name == "minExclusive":
            return _less(bound, v, or_equal=False)
        if name == "maxInclusive":
            return _less(v, bound, or_equal=True)
        return _less(v, bound, or_equal=False)

    return lambda g, f, vs: ((v, f"outside the range ({name} {bound})") for v in vs if not inside(v))


# ---------------------------------------------------------------------------- public


@dataclass
class Shapes:
    """A compiled shapes graph: the shapes with targets, each with everything it checks."""

    roots: list[Shape]
    #: Every shape by its term (nested ones included): what a finding's ``shape`` names.
    by_id: dict[str, Shape]

    def validate(self, statements: Iterable[Statement] | DataGraph) -> list[Finding]:
        """The findings of one graph, in shape order (empty when it conforms)."""
        graph = statements if isinstance(statements, DataGraph) else DataGraph(statements)
        found: list[Finding] = []
        for shape in self.roots:
            focus_nodes = dict.fromkeys(node for target in shape.targets for node in target(graph))
            for focus in focus_nodes:
                found.extend(shape.results(graph, focus))
        return found


def compile_shapes(turtle: str, *, base_iri: str | None = None, rename: dict[str, str] | None = None) -> Shapes:
    """Compile a SHACL shapes graph given as Turtle. *rename* rewrites namespaces in the
    shapes (``http://schema.org/`` -> ``https://schema.org/``) before compiling."""
    try:
        triples = list(pyoxigraph.parse(turtle, pyoxigraph.RdfFormat.TURTLE, base_iri=base_iri))
    except SyntaxError as error:
        raise ShapesError(f"the shapes are not readable Turtle: {error}") from None
    statements = [(str(t.subject), str(t.predicate), str(t.object)) for t in triples]
    if rename:
        statements = [tuple(_renamed(term, rename) for term in statement) for statement in statements]  # type: ignore[misc]
    compiler = _Compiler(statements)
    roots = [compiler.shape(node) for node in compiler.shape_nodes()]
    return Shapes(roots, compiler.shapes)


def _renamed(term: str, rename: dict[str, str]) -> str:
    if is_iri(term):
        for old, new in rename.items():
            if term.startswith(f"<{old}"):
                return f"<{new}{term[len(old) + 1:]}"
    return term
