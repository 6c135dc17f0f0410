"""``studygraph validate``: records checked against a profile, and the report of it.

Records come from files (read and mapped on the fly, as ``load --dry-run`` would) or from
a store (each record's published graph, with the repairs its kept original needed); each
is checked by one compiled profile (mappings.validation). The report groups the findings
by record and, within a record, by rule, and ends with the count of each rule; it is
written as text (for a terminal), JSON (for programs) or a standalone HTML page.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.loader import Loader, LoadEvent, map_stored
from studygraph.mappings.records import ReadResult
from studygraph.mappings.urls import Urls
from studygraph.mappings.validation import SEVERITIES, Gate, Profile, Result, is_repair, load_profile, results_from_json

#: Report formats of ``studygraph validate --format``.
REPORT_FORMATS = ("text", "json", "html")


@dataclass
class RecordReport:
    """One record's findings: where it came from and what it broke."""

    record: str
    where: str
    findings: list[Result]


@dataclass
class Report:
    """Every record checked, those with findings kept, and the problems met on the way."""

    profile: Profile
    checked: int = 0
    records: list[RecordReport] = field(default_factory=list)
    #: Records that could not be read or mapped at all (file:line and why).
    unreadable: list[str] = field(default_factory=list)

    def add(self, record: str, where: str, findings: Iterable[Result]) -> None:
        self.checked += 1
        kept = sorted(findings, key=lambda r: (_rank(r.severity), r.rule, r.focus))
        if kept:
            self.records.append(RecordReport(record, where, kept))

    def counts(self) -> Counter[str]:
        return Counter(r.severity for rec in self.records for r in rec.findings)

    def by_rule(self) -> list[dict[str, Any]]:
        """Each rule broken: its severity, name, message and how many findings and records."""
        findings: Counter[str] = Counter()
        records: Counter[str] = Counter()
        severity: dict[str, str] = {}
        for rec in self.records:
            for result in rec.findings:
                findings[result.rule] += 1
                severity[result.rule] = result.severity
            records.update({r.rule for r in rec.findings})
        rules = []
        for key in sorted(findings, key=lambda k: (_rank(severity[k]), -records[k], k)):
            rule = self.profile.rules.get(key)
            rules.append({"rule": key, "iri": rule.iri if rule else None, "name": rule.name if rule else key, "severity": severity[key],
                          "message": rule.message if rule else "", "findings": findings[key], "records": records[key]})
        return rules

    @property
    def conforms(self) -> bool:
        return self.counts()["Violation"] == 0 and not self.unreadable


def _rank(severity: str) -> int:
    """Where a severity sorts: violations first, an unknown one last."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def validate_files(items: Iterable[ReadResult], urls: Urls, checks: Gate) -> Report:
    """Read and map every record of *items*, as a dry-run load, and check each."""
    report = Report(_profile(checks))

    def note(event: LoadEvent) -> None:
        if event.rejection is not None:
            report.unreadable.append(str(event.rejection))
        elif event.findings is not None:
            report.add(event.slug or "", event.origin, event.findings)

    Loader(None, urls, dry_run=True, validate=checks).load(items, note)
    return report


#: Below this many records a store is checked in this process alone: starting worker
#: processes (each imports studygraph and opens the store) costs more than it saves.
PARALLEL_FROM = 2_000
#: Records a worker checks per task (the report keeps the store's order).
TASK_SIZE = 500


def validate_store(catalogue: Catalogue, urls: Urls, checks: Gate, *, shapes: str = "studygraph",
                   reopen: Callable[[], Catalogue] | None = None, workers: int = 1) -> Report:
    """Check every record of a store: the shapes on its published graph (the record's
    own graph and the descriptions it names), and the mapping's repairs of its original:
    as kept with the record when it was written (the findings without a path or value),
    else found by mapping its kept original again (a record written with
    ``--validate=off``).

    With *workers* > 1 and a big store, the records are shared among that many worker
    processes, each opening the store read-only through *reopen* (a picklable callable)
    and compiling *shapes* once: the checks are Python, one core each."""
    profile = _profile(checks)
    report = Report(profile)
    names = sorted(catalogue.record_hashes())
    if workers > 1 and reopen is not None and len(names) >= PARALLEL_FROM:
        tasks = [names[start : start + TASK_SIZE] for start in range(0, len(names), TASK_SIZE)]
        # spawn, not fork: a child must not inherit the parent's open database handles.
        with multiprocessing.get_context("spawn").Pool(workers, initializer=_start_worker, initargs=(reopen, urls.base, shapes)) as pool:
            for checked, records, unreadable in pool.imap(_check_in_worker, tasks):
                report.checked += checked
                report.records += records
                report.unreadable += unreadable
        return report
    _check_names(catalogue, urls, profile, names, report)
    return report


#: A worker process's store, URL scheme and profile (set by :func:`_start_worker`).
_WORKER: tuple[Catalogue, Urls, Profile] | None = None


def _start_worker(reopen: Callable[[], Catalogue], base_url: str, shapes: str) -> None:
    global _WORKER
    _WORKER = (reopen(), Urls(base_url), load_profile(shapes, base_url))


def _check_in_worker(names: list[str]) -> tuple[int, list[RecordReport], list[str]]:
    assert _WORKER is not None, "a worker checks records only once started"
    catalogue, urls, profile = _WORKER
    part = Report(profile)
    _check_names(catalogue, urls, profile, names, part)
    return part.checked, part.records, part.unreadable


def _check_names(catalogue: Catalogue, urls: Urls, profile: Profile, names: list[str], report: Report) -> None:
    for name in names:
        slug = name.rsplit("/", 1)[-1]
        statements = [(str(t.subject), str(t.predicate), str(t.object)) for t in catalogue.document_triples(name)]
        findings = profile.check(statements)
        kept = catalogue.index.findings(slug) if catalogue.index is not None else None
        if kept is not None and profile.name == "studygraph":
            seen = {(r.rule, r.focus) for r in findings}
            findings += [r for r in results_from_json(kept) if is_repair(r) and (r.rule, r.focus) not in seen]
        elif (stored := catalogue.stored_record(name)) is not None:
            try:
                findings += profile.repairs(map_stored(stored, urls), findings)
            except Exception as error:  # noqa: BLE001 - a kept original that no longer maps is reported, not fatal
                report.unreadable.append(f"{name}: the kept original cannot be mapped again ({error})")
        report.add(slug, name, findings)


def _profile(checks: Gate) -> Profile:
    if checks.profile is None:
        raise ValueError("validation needs a profile")
    return checks.profile


# ---------------------------------------------------------------------------- output


def as_json(report: Report) -> str:
    counts = report.counts()
    return json.dumps({
        "profile": report.profile.name,
        "conforms": report.conforms,
        "checked": report.checked,
        "violations": counts["Violation"],
        "warnings": counts["Warning"],
        "rules": report.by_rule(),
        "records": [{"record": r.record, "where": r.where, "findings": [f.as_json() for f in r.findings]} for r in report.records],
        "unreadable": report.unreadable,
    }, indent=1, ensure_ascii=False)


def as_text(report: Report) -> Iterator[str]:
    for rec in report.records:
        yield f"{rec.record}  ({rec.where})"
        for result in rec.findings:
            where = " ".join(x for x in (result.path or "", result.value or "") if x)
            yield f"  {result.severity:<9} {result.rule}: {result.message}" + (f"  [{where}]" if where else "")
    for line in report.unreadable:
        yield f"unreadable: {line}"
    if report.records or report.unreadable:
        yield ""
    yield f"{report.profile.name} profile, by rule:"
    for rule in report.by_rule():
        yield f"  {rule['severity']:<9} {rule['rule']}: {rule['records']} records, {rule['findings']} findings"
    counts = report.counts()
    verdict = "conforms" if report.conforms else "does not conform"
    yield (f"{report.checked} records checked: {counts['Violation']} violations, {counts['Warning']} warnings "
           f"in {len(report.records)} records; {verdict}")


def as_html(report: Report, shapes_url: str) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape  # only for this format: not at every command's start

    environment = Environment(loader=PackageLoader("studygraph.server", "templates"), autoescape=select_autoescape(default=True))
    counts = report.counts()
    return environment.get_template("validation_report.html").render(
        report=report, rules=report.by_rule(), violations=counts["Violation"], warnings=counts["Warning"], shapes_url=shapes_url,
    )
