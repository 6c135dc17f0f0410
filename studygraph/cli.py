"""The ``studygraph`` command: load, delete, remap, export and inspect a store."""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import signal
import socket
import sqlite3
import sys
import time
from dataclasses import fields
from pathlib import Path

import click

from studygraph.graph import consistency
from studygraph.graph.backend import EXPORT_FORMATS
from studygraph.graph.catalogue import Catalogue, Location
from studygraph.graph.disk import is_disk_full
from studygraph.graph.embedded import StoreError
from studygraph.graph.index_place import IndexDirectory, index_components
from studygraph.graph.loader import Loader, LoadEvent, LoadReport, load_fresh, recover
from studygraph.graph.locations import LocationError, StoreAddress, is_remote, location
from studygraph.graph.query_runner import QueryRunner
from studygraph.graph.remote.client import RemoteStoreError
from studygraph.mappings.readers import FORMATS, ReadProgress, read_paths
from studygraph.mappings.urls import Urls, check_base_url
from studygraph.mappings.validation import MODES

from .config import DEFAULT_BASE_URL, Config, byte_size
from .validation_report import REPORT_FORMATS


def _store_option(command):
    """``--store`` and ``--index``: which catalogue a command works on (graph.locations)."""
    command = click.option(
        "--index", "index", metavar="URL|DIR", default=None,
        help="With a store server: where the index, change log and shared values live, "
             "postgresql://…?schema=NAME or a directory [env STUDYGRAPH_INDEX].",
    )(command)
    return click.option(
        "--store", "store", metavar="DIR|URL", default=None,
        help="Store directory, or the URL of a SPARQL store server (Oxigraph server, Virtuoso, ...) "
             "[env STUDYGRAPH_STORE; default ./data/store].",
    )(command)


def _validate_option(command):
    return click.option(
        "--validate", "validate", type=click.Choice(MODES), default=None,
        help="Check each record against the studygraph profile: off, warn (keep and report the findings) "
             "or error (refuse a record with a violation; the others still load) [env STUDYGRAPH_VALIDATE; default warn].",
    )(command)


def _base_url_option(command):
    return click.option(
        "--base-url", "base_url", metavar="URL", default=None,
        help=f"Base URL of the published IRIs [env STUDYGRAPH_BASE_URL; default {DEFAULT_BASE_URL}].",
    )(command)


class _Commands(click.Group):
    """The commands; a store that cannot be written (a full disk, a damaged store) ends a
    command with one line and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (StoreError, OSError, sqlite3.OperationalError) as error:
            if not isinstance(error, StoreError) and not is_disk_full(error):
                raise
            click.echo(f"error: {error}", err=True)
            sys.exit(1)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Publish a catalogue of research studies as linked data."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@_store_option
@_base_url_option
@click.option("--format", "format_", type=click.Choice(FORMATS), default=None, help="Read every input as this format instead of sniffing it.")
@click.option("--dry-run", is_flag=True, help="Read and map everything, write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="Do not print mapping warnings.")
@click.option("--server", "server_url", metavar="URL", default=None, help="Send the records to a running server's write API (token in STUDYGRAPH_TOKEN) instead of opening the store.")
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Processes that map and check records while a fresh store is filled: worth it with cores to spare [env STUDYGRAPH_LOAD_PROCESSES; default 1].")
@_validate_option
def load(paths: tuple[str, ...], store: str | None, index: str | None, base_url: str | None, format_: str | None, dry_run: bool, quiet: bool,
         server_url: str | None, processes: int | None, validate: str | None) -> None:
    """Load study records from PATHS (files, directories, or - for stdin).

    Records are read in any format studygraph knows (Harmony JSON / JSON Lines / item
    pages, schema.org JSON-LD, HTML with JSON-LD), gzipped or not. Each record's graph is
    replaced in one transaction; an unchanged record is left alone. A fresh store is
    filled with the bulk loader. Each record is checked against the studygraph profile
    (--validate). Exit status 1 if any record was rejected.
    """
    config = Config.from_env(store=store, index=index, base_url=base_url, validate=validate, load_processes=processes)
    reading = ReadProgress()
    items = read_paths(paths, format=format_, progress=reading)
    if server_url:
        from .remote_load import post_records

        sys.exit(post_records(server_url, items, token=config.token, validate=config.validate))
    progress = _Progress(quiet=quiet, reading=reading)
    if not dry_run and _fresh(config):
        urls = Urls(_base_url(config, None))
        report = load_fresh(_location(config), items, urls, progress, validate=config.validate,
                            processes=config.load_processes)
    else:
        # Here a fresh store means a dry run: nothing to open, the records are only mapped.
        opened = None if _fresh(config) else _open(config, read_only=dry_run)
        urls = Urls(_base_url(config, opened))
        try:
            if opened is not None and opened.base_url is None and not dry_run:
                opened.set_base_url(urls.base)
            report = Loader(opened, urls, dry_run=dry_run, validate=config.validate).load(items, progress)
        finally:
            if opened is not None:
                opened.close()
    progress.finish(report, dry_run)
    sys.exit(0 if report.ok else 1)


@main.command()
@click.argument("slugs", nargs=-1, required=True)
@_store_option
def delete(slugs: tuple[str, ...], store: str | None, index: str | None) -> None:
    """Delete the records with the given SLUGS (the last segment of /items/SLUG)."""
    config = Config.from_env(store=store, index=index)
    opened = _open(config)
    urls = Urls(_base_url(config, opened))
    loader = Loader(opened, urls)
    missing = 0
    try:
        for slug in slugs:
            if loader.delete(urls.item(slug)):
                click.echo(f"deleted {slug}")
            else:
                click.echo(f"no record {slug!r}", err=True)
                missing += 1
    finally:
        opened.close()
    sys.exit(1 if missing else 0)


@main.command()
@_store_option
@click.option("--quiet", "-q", is_flag=True, help="Do not print mapping warnings.")
@_validate_option
def remap(store: str | None, index: str | None, quiet: bool, validate: str | None) -> None:
    """Rebuild every record's graph from its kept original with the current mapping
    (and its findings with the current profile)."""
    config = Config.from_env(store=store, index=index, validate=validate)
    opened = _open(config)
    progress = _Progress(quiet=quiet)
    try:
        report = Loader(opened, Urls(_base_url(config, opened)), validate=config.validate).remap(progress)
    finally:
        opened.close()
    progress.finish(report, False, verb="remapped")
    sys.exit(0 if report.ok else 1)


@main.command()
@_store_option
@click.option("--format", "format_", type=click.Choice(list(EXPORT_FORMATS)), default="nq", show_default=True)
@click.option("--output", "-o", type=click.File("wb"), default="-", help="File to write [default: stdout].")
def export(store: str | None, index: str | None, format_: str, output) -> None:
    """Write the whole dataset (every record graph) in an RDF format."""
    config = Config.from_env(store=store, index=index)
    opened = _open(config, read_only=True)
    try:
        opened.export(output, format_)
    finally:
        opened.close()


@main.command()
@_store_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(store: str | None, index: str | None, as_json: bool) -> None:
    """Count records, quads and linked nodes by kind."""
    config = Config.from_env(store=store, index=index)
    opened = _open(config, read_only=True)
    try:
        figures = opened.stats()
        base_url = opened.base_url
    finally:
        opened.close()
    if as_json:
        # The base URL too: tools (bench/) learn what a store holds from here, not from its files.
        click.echo(json.dumps({"records": figures.records, "quads": figures.quads, "nodes": figures.nodes, "base_url": base_url}))
        return
    click.echo(f"records  {figures.records}")
    click.echo(f"quads    {figures.quads}")
    for kind, count in figures.nodes.items():
        click.echo(f"{kind:<16} {count}")


@main.command()
@_store_option
def slugs(store: str | None, index: str | None) -> None:
    """List every record's slug (its /items/SLUG), one a line, in slug order.

    For scripts that pick studies to request (bench/): they ask the store through this
    command rather than reading its index file. It reads the search index alone (SQLite,
    which takes readers beside the server's writes), never the graph database, so it is
    safe while the server runs: a read-only opening of RocksDB beside its writer is not.
    """
    config = Config.from_env(store=store, index=index)
    _location(config)  # refuses a store named wrongly
    place = index_components(config.index) if is_remote(config.store) and config.index else IndexDirectory(Path(config.store))
    opened, changes, values = place.open(read_only=True)
    if opened is None:
        raise click.ClickException(f"no store (no search index) at {_shown_store(config)}")
    try:
        found = opened.slugs()
    finally:
        for component in (opened, changes, values):
            if component is not None:
                component.close()
    for slug in found:
        click.echo(slug)


@main.command()
@click.argument("paths", nargs=-1)
@_store_option
@_base_url_option
@click.option("--shapes", default="studygraph", show_default=True, metavar="studygraph|dcat-ap|google|FILE",
              help="The profile to check against, or a SHACL file (Turtle).")
@click.option("--format", "format_", type=click.Choice(REPORT_FORMATS), default="text", show_default=True, help="How to write the report.")
@click.option("--input-format", "input_format", type=click.Choice(FORMATS), default=None, help="Read every input as this format instead of sniffing it.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Processes checking a store's records (from 2,000 records on) [default: one per CPU].")
def validate(paths: tuple[str, ...], store: str | None, index: str | None, base_url: str | None, shapes: str, format_: str,
             input_format: str | None, workers: int | None) -> None:
    """Check records against the studygraph profile (or another) and report the findings.

    With PATHS, the records of those files are read and mapped as `load` would (nothing
    is written); without, every record of the store is checked (its published graph, and
    the repairs its kept original needs). The report groups the findings by record and
    rule. Exit status 1 if there is a violation or a record cannot be read, 0 otherwise.
    """
    from studygraph.mappings.shacl import ShapesError
    from studygraph.mappings.validation import Gate, load_profile, shapes_document

    from . import validation_report

    config = Config.from_env(store=store, index=index, base_url=base_url)
    opened = None if paths else _open(config, read_only=True)
    try:
        urls = Urls(_base_url(config, opened))
        try:
            checks = Gate("warn", load_profile(shapes, urls.base))
        except ShapesError as error:
            raise click.ClickException(str(error)) from None
        if paths:
            report = validation_report.validate_files(read_paths(paths, format=input_format), urls, checks)
        else:
            assert opened is not None
            report = validation_report.validate_store(opened, urls, checks, shapes=shapes, workers=workers or os.cpu_count() or 1,
                                                      reopen=functools.partial(_open, config, read_only=True))
    finally:
        if opened is not None:
            opened.close()
    if format_ == "json":
        click.echo(validation_report.as_json(report))
    elif format_ == "html":
        click.echo(validation_report.as_html(report, shapes_document(urls.base)))
    else:
        for line in validation_report.as_text(report):
            click.echo(line)
    sys.exit(0 if report.conforms else 1)


@main.command()
@_store_option
@click.option("--repair", is_flag=True, help="Make the search index and the change log agree with the graphs.")
def check(store: str | None, index: str | None, repair: bool) -> None:
    """Find (and with --repair, mend) studies on which the graphs, the search index and
    the change log disagree; the graphs are the truth. Opening the store already settles
    the writes a crash left unfinished; this finds what no journal saw."""
    config = Config.from_env(store=store, index=index)
    opened = _open(config)
    try:
        found = consistency.check(opened, Urls(_base_url(config, opened)), repair=repair)
    finally:
        opened.close()
    for label, slugs in found.findings():
        for slug in slugs:
            click.echo(f"{label}: {slug}")
    if found.agrees:
        click.echo("the graphs, the search index and the change log agree")
    elif repair:
        click.echo("repaired")
    sys.exit(0 if found.agrees or repair else 1)


#: Rendered representations kept beside the store (server/cache.py), shared by
#: `studygraph serve` and `studygraph prerender`.
CACHE_FILE = "representations.sqlite"


@main.command()
@_store_option
@click.option("--format", "formats", type=click.Choice(["html", "jsonld", "ttl", "rdf", "nt", "nq", "trig"]), multiple=True,
              help="A format to render (repeatable) [default: ttl, jsonld, html].")
@click.option("--workers", type=int, default=None, help="Processes to render with [default: one per CPU].")
def prerender(store: str | None, index: str | None, formats: tuple[str, ...], workers: int | None) -> None:
    """Render every study's pages and data ahead of traffic, into the server's disk cache.

    `studygraph serve` keeps each representation it renders in STORE/representations.sqlite
    under its ETag; this fills that file for every study at once, so the first visitor of
    a study is served from the cache too. Safe while the server runs (the store is only
    read); variants already cached for the current version of a record are skipped.
    """
    import os

    from studygraph.server.cache import DiskCache
    from studygraph.server.prerender import DEFAULT_FORMATS, PrerenderCount
    from studygraph.server.prerender import prerender as run

    config = Config.from_env(store=store, index=index)
    opened = _open(config, read_only=True)
    try:
        base_url = _base_url(config, opened)
        slugs = opened.index.slugs() if opened.index is not None else []
    finally:
        opened.close()
    workers = max(1, workers or os.cpu_count() or 1)
    chosen = formats or DEFAULT_FORMATS
    started = time.monotonic()
    total = PrerenderCount()
    tty = sys.stderr.isatty()
    cache_path = config.cache or str(_local_folder(config) / CACHE_FILE)
    try:
        disk = DiskCache(cache_path)
    except (sqlite3.Error, OSError) as error:
        raise click.ClickException(f"cannot write the cache at {cache_path}: {error}") from None
    for count in run(_prerender_app, (config, base_url, cache_path), slugs, chosen, workers):
        total += count
        if tty:
            click.echo(f"\r{total.requested // len(chosen):>10,} / {len(slugs):,} studies", nl=False, err=True)
    if tty:
        click.echo("\r\033[K", nl=False, err=True)
    pruned = disk.prune_studies(set(slugs))
    click.echo(
        f"prerendered {len(slugs)} studies x {len(chosen)} formats in {time.monotonic() - started:.1f}s: "
        f"{total.rendered} rendered, {total.requested - total.rendered - total.failed} already cached, {total.failed} failed"
        + (f"; {pruned} cached variants of deleted studies dropped" if pruned else "")
    )
    sys.exit(1 if total.failed else 0)


def _prerender_app(config: Config, base_url: str, cache_path: str):
    """The app a prerender worker requests from: the store read-only, no memory cache."""
    from studygraph.server.app import ServerSettings, create_app

    opened = _location(config).open(read_only=True)
    settings = ServerSettings(base_url=base_url, cache_bytes=0, cache_path=cache_path)
    return create_app(opened, settings)


# ------------------------------------------------------------------------------ helpers


class StoreNamedWrongly(click.ClickException):
    """A --store/--index that names no catalogue: a usage error (exit status 2), in one line."""

    exit_code = 2


def _location(config: Config) -> Location:
    """The catalogue the configuration names (graph.locations)."""
    address = StoreAddress(
        dialect=config.store_dialect, query_url=config.store_query_url, update_url=config.store_update_url,
        graph_store_url=config.store_graph_store_url, user=config.store_user, password=config.store_password,
        connections=config.store_connections,
    )
    try:
        return location(config.store, config.index, address, min_free_bytes=config.min_free_bytes)
    except LocationError as error:
        raise StoreNamedWrongly(str(error)) from None


def _fresh(config: Config) -> bool:
    """Whether the configured catalogue does not exist yet; every command that opens or
    creates one asks this first, so a store named wrongly is refused before anything is
    read or written."""
    try:
        return _location(config).is_fresh()
    except RemoteStoreError as error:
        raise click.ClickException(str(error)) from None


def _open(config: Config, *, read_only: bool = False) -> Catalogue:
    """The configured catalogue, opened (and, unless read-only, its unfinished writes
    settled); one that does not exist yet is refused with a ClickException."""
    if _fresh(config):
        raise click.ClickException(f"no store at {_shown_store(config)} (load some records first, or pass --store)")
    try:
        opened = _location(config).open(read_only=read_only)
    except (StoreError, RemoteStoreError) as error:
        raise click.ClickException(str(error)) from None
    if not read_only and opened.base_url:
        settled = recover(opened, Urls(opened.base_url))
        if settled:
            click.echo(f"settled {settled} writes an earlier process left unfinished", err=True)
    return opened


def _shown_store(config: Config) -> str:
    """The store for messages: a server's URL without credentials."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", config.store)


def _local_folder(config: Config) -> Path:
    """Where this host keeps files of its own for the catalogue (the representation
    cache, dumps): the embedded store's folder; for a store server, a folder per store
    and index under the system's temporary directory unless --cache names the file."""
    if not is_remote(config.store):
        return Path(config.store)
    import hashlib
    import tempfile

    key = hashlib.sha256(f"{config.store}\n{config.index}".encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"studygraph-{key}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _base_url(config: Config, store: Catalogue | None) -> str:
    """The store's base URL; a different --base-url is refused rather than mixing IRIs."""
    recorded = store.base_url if store is not None else None
    if recorded and config.base_url and config.base_url.rstrip("/") != recorded:
        raise click.ClickException(
            f"the store at {config.store} publishes under {recorded}; "
            f"it cannot take records under {config.base_url} (use another --store)"
        )
    try:
        return check_base_url(recorded or config.base_url or DEFAULT_BASE_URL)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def progress_line(count: int, elapsed: float, fraction: float | None, width: int = 30) -> str:
    """``[=========>          ]  45%  12,345 records  2,100/s  ~1m20s left`` (the bar and
    the time left only when the share of the input read is known)."""
    rate = count / max(elapsed, 1e-9)
    counted = f"{count:>10,} records  {rate:,.0f}/s"
    if fraction is None:
        return counted
    filled = int(fraction * width)
    bar = "=" * filled + (">" if filled < width else "") + " " * max(0, width - filled - 1)
    left = ""
    if 0 < fraction < 1:
        seconds = int(elapsed * (1 - fraction) / fraction)
        left = f"  ~{seconds // 60}m{seconds % 60:02d}s left"
    return f"[{bar}] {fraction:4.0%}  {counted}{left}"


class _Progress:
    """Prints warnings and rejections as they happen and, on a terminal, a progress bar
    (share of the input bytes read, when the inputs are files) with a live count."""

    def __init__(self, *, quiet: bool, reading: ReadProgress | None = None) -> None:
        self.quiet = quiet
        self.reading = reading
        self.tty = sys.stderr.isatty()
        self.count = 0
        self.started = time.monotonic()
        self.shown = 0.0
        #: The profile's findings seen: violations, warnings, records with a violation.
        self.violations = self.recommendations = self.violating = 0

    def __call__(self, event: LoadEvent) -> None:
        self.count += 1
        if event.rejection is not None:
            self._line(f"rejected: {event.rejection}")
        elif not self.quiet:
            for warning in event.warnings:
                self._line(f"warning: {event.origin} [{event.slug}] {warning}")
        if event.findings:
            broken = [r for r in event.findings if r.severity == "Violation"]
            self.violations += len(broken)
            self.violating += bool(broken)
            self.recommendations += len(event.findings) - len(broken)
            if broken and not self.quiet:
                rules = ", ".join(dict.fromkeys(r.rule for r in broken))
                self._line(f"violation: {event.origin} [{event.slug}] {rules}")
        if self.tty and time.monotonic() - self.shown > 0.2:
            self.shown = time.monotonic()
            fraction = self.reading.fraction() if self.reading is not None else None
            line = progress_line(self.count, self.shown - self.started, fraction)
            click.echo(f"\r{line}", nl=False, err=True)

    def _line(self, text: str) -> None:
        if self.tty:
            click.echo("\r\033[K", nl=False, err=True)
        click.echo(text, err=True)

    def finish(self, report: LoadReport, dry_run: bool, verb: str = "loaded") -> None:
        if self.tty:
            click.echo("\r\033[K", nl=False, err=True)
        elapsed = time.monotonic() - self.started
        prefix = "dry run: would have " if dry_run else ""
        click.echo(f"{prefix}{verb} {self.count} records in {elapsed:.1f}s: {report.summary()}")
        if self.violations or self.recommendations:
            click.echo(f"profile: {self.violations} violations in {self.violating} records, {self.recommendations} warnings "
                       "(studygraph validate for the report)")


class _Size(click.ParamType):
    """A size in bytes: ``1048576``, ``512K``, ``256M``, ``1G``."""

    name = "size"

    def convert(self, value, param, ctx) -> int:
        from studygraph.harvest.body import parse_size

        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


@main.command()
@click.argument("url")
@_store_option
@_base_url_option
@click.option("--prune", is_flag=True, help="Delete records this source gave before and no longer has.")
@click.option("--since", default=None, help="Change-feed token or ISO date/time to start from (default: where the last harvest stopped).")
@click.option("--follow-hosts", "follow_hosts", multiple=True, metavar="HOSTS",
              help="Other hosts links and redirects may lead to: comma-separated host, host:port or scheme://host[:port], "
                   "or * for any (repeatable) [default: only the scheme, host and port of URL].")
@click.option("--delay", type=click.FloatRange(min=0), default=0.0, show_default=True, help="Seconds between requests.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Seconds one response may take in all, from the request to its last byte.")
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True,
              help="Further attempts after a connection error, a timeout, 429 or 5xx.")
@click.option("--max-pages", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Documents fetched at the most (catalogue pages, sitemaps, pages, records of a feed).")
@click.option("--max-time", type=click.FloatRange(min=0, min_open=True), default=6 * 3600.0, show_default=True,
              help="Seconds after which the harvest fetches nothing more (waits for retries included).")
@click.option("--max-size", type=_Size(), default="256M", show_default=True,
              help="Largest response, as sent and once decompressed (bytes, or with K, M, G).")
@click.option("--quiet", "-q", is_flag=True, help="Do not print mapping warnings.")
@_validate_option
def harvest(url: str, store: str | None, index: str | None, base_url: str | None, prune: bool, since: str | None, follow_hosts: tuple[str, ...],
            delay: float, timeout: float, retries: int, max_pages: int, max_time: float, max_size: int, quiet: bool,
            validate: str | None) -> None:
    """Pull records from another catalogue at URL into the store.

    URL may be a DCAT catalogue (any RDF syntax, Hydra-paged: another studygraph's
    /catalog, a ckanext-dcat /catalog.ttl), a SPARQL endpoint (.../sparql), a sitemap of
    pages with schema.org JSON-LD, or another studygraph's change feed (.../changes).
    Only http(s) is fetched, and only on URL's scheme, host and port unless
    --follow-hosts allows others. Every harvest ends: a page read before ends a walk, and
    --max-pages, --max-time, --timeout and --max-size bound the rest. Exit status 1 if a
    record was rejected or the source failed (the records harvested before stay).
    """
    from studygraph.harvest.fetch import Politeness
    from studygraph.harvest.run import harvest as run_harvest

    config = Config.from_env(store=store, index=index, base_url=base_url, validate=validate)
    fresh = _fresh(config)
    opened = None if fresh else _open(config)
    urls = Urls(_base_url(config, opened))
    if opened is not None and opened.base_url is None:
        opened.set_base_url(urls.base)
    progress = _Progress(quiet=quiet)
    politeness = Politeness(timeout=timeout, delay=delay, retries=retries, max_pages=max_pages, max_time=max_time, max_bytes=max_size)
    try:
        report = run_harvest(
            url, opened, Loader(opened, urls, validate=config.validate), prune=prune, since=since,
            politeness=politeness, follow_hosts=follow_hosts, listener=progress,
            fresh_store=_location(config) if fresh else None,
        )
    finally:
        if opened is not None:
            opened.close()
    if fresh and not _fresh(config):
        from studygraph.harvest.state import save_state

        created = _open(config)
        try:
            save_state(created.state, report.state)
        finally:
            created.close()
    for notice in report.notices:
        click.echo(f"warning: {notice}", err=True)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    progress.finish(report.load, False, verb="harvested")
    click.echo(
        f"{report.pages} pages read, {report.unchanged_pages} unchanged (304), {report.deleted} records deleted"
        + (f", change token {report.token}" if report.token is not None else "")
        + f"; {report.requests} requests"
    )
    sys.exit(0 if report.load.ok and not report.errors else 1)


# ---------------------------------------------------------------------------- serving


@main.command()
@_store_option
@_base_url_option
@click.option("--host", default=None, help="Address to listen on [env STUDYGRAPH_HOST; default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [env STUDYGRAPH_PORT; default 8000].")
@click.option("--threads", type=int, default=None, help="Worker threads [env STUDYGRAPH_THREADS; default 16].")
@click.option("--query-memory", default=None, metavar="SIZE",
              help="Memory limit of the SPARQL query process, e.g. 4G, 512M; 0 for none [env STUDYGRAPH_QUERY_MEMORY; default 4G].")
@click.option("--connection-limit", type=int, default=None, help="Open connections kept; past it, 503 [env STUDYGRAPH_CONNECTION_LIMIT; default 1000].")
@click.option("--header-timeout", type=float, default=None, help="Seconds a request's headers may take [env STUDYGRAPH_HEADER_TIMEOUT; default 20].")
@click.option("--body-timeout", type=float, default=None, help="Seconds a request's body may take [env STUDYGRAPH_BODY_TIMEOUT; default 120].")
@click.option("--idle-timeout", type=int, default=None, help="Seconds a connection may stay silent, mid-response too [env STUDYGRAPH_IDLE_TIMEOUT; default 60].")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Worker processes on the one port [env STUDYGRAPH_WORKERS; default 1]. Over the embedded store, more than one "
                   "serve it read-only: writes are refused and nothing else may write the store meanwhile.")
@click.option("--cache", default=None, metavar="FILE",
              help="Cache of rendered pages, shared by the workers [env STUDYGRAPH_CACHE; default STORE/representations.sqlite].")
@_validate_option
def serve(
    store: str | None, index: str | None, base_url: str | None, host: str | None, port: int | None, threads: int | None, query_memory: str | None,
    connection_limit: int | None, header_timeout: float | None, body_timeout: float | None, idle_timeout: int | None,
    workers: int | None, cache: str | None, validate: str | None,
) -> None:
    """Serve the store: content-negotiated pages and data, search, and the write API.

    Each worker process answers with a pool of threads (Waitress, with deadlines and a
    connection cap against slow clients: server/connections.py). Writes (POST
    /api/records, DELETE /api/records/SLUG) need the bearer token in STUDYGRAPH_TOKEN;
    without it they are refused, before their body is read.

    With --workers N > 1 a supervisor binds the port, starts N workers on it (printing
    "worker PID serving" for each), replaces one that dies and stops them all on TERM or
    INT. RocksDB lets one process open the embedded store for writing, and a read-only
    opening does not follow a writer (pyoxigraph 0.5 has no secondary mode): so the
    supervisor holds the store open for writing, and never writes, so that no load can
    run beside the workers, which open it read-only and refuse writes. Load with the
    server stopped, or with one worker, which takes writes.
    """
    config = Config.from_env(
        store=store, index=index, base_url=base_url, host=host, port=port, threads=threads, query_memory=query_memory,
        connection_limit=connection_limit, header_timeout=header_timeout, body_timeout=body_timeout, idle_timeout=idle_timeout,
        workers=workers, cache=cache, validate=validate,
    )
    _serve(config)


#: Synthetic records in studygraph/examples/demo.jsonl.gz.
DEMO_RECORDS = 300


@main.command()
@click.option("--store", "store", metavar="DIR", default=None, help="Where to build the demo store [default: a temporary directory].")
@click.option("--records", "count", type=click.IntRange(0, DEMO_RECORDS), default=DEMO_RECORDS, show_default=True,
              help="How many of the bundled synthetic records to add.")
@click.option("--host", default=None, help="Address to listen on [default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default 8000].")
def demo(store: str | None, count: int, host: str | None, port: int | None) -> None:
    """Load the bundled example records into a fresh store and serve them.

    The example is the Harmony item page shipped with studygraph plus the first COUNT of
    300 synthetic records shaped like real ones (studygraph/examples/demo.jsonl.gz, made
    once by bench/generate.py 300 --seed 1).
    """
    import gzip
    import tempfile
    from importlib import resources

    from studygraph.mappings.readers import read_bytes

    directory = store or tempfile.mkdtemp(prefix="studygraph-demo-")
    config = Config.from_env(store=str(Path(directory) / "store") if store is None else store, host=host, port=port)
    if not _fresh(config):
        raise click.ClickException(f"{config.store} already holds a store; demo builds a fresh one")
    examples = resources.files("studygraph").joinpath("examples")
    page = examples.joinpath("seed-page.txt").read_bytes()
    # The generator's first N records are the same whatever follows, so the first COUNT
    # lines are what generating COUNT records gives.
    lines = gzip.decompress(examples.joinpath("demo.jsonl.gz").read_bytes()).splitlines(keepends=True)[:count]
    items = itertools.chain(read_bytes(page, "seed-page.txt"), read_bytes(b"".join(lines), "demo.jsonl"))
    urls = Urls(config.base_url or f"http://{config.host}:{config.port}")
    report = load_fresh(_location(config), items, urls)
    click.echo(f"demo store at {config.store}: {report.summary()}")
    _serve(Config.from_env(store=config.store, base_url=urls.base, host=config.host, port=config.port))


def _serve(config: Config) -> None:
    if config.workers > 1:
        _supervise(config)
    else:
        _serve_process(config, False, None)


def _supervise(config: Config) -> None:
    """`serve --workers N`: bind once, keep N worker processes on the port (server.workers).

    Over a store server the workers hold no state: each opens the catalogue for writing
    (the store server and the index database take writers from every worker and host)
    and answers writes with the token. Over the embedded store the supervisor opens it
    for writing (settling unfinished writes, recording the base URL) and keeps it open
    without writing: RocksDB's lock then refuses any other writer, so the read-only
    workers never read a store that changes under them (a read-only opening neither
    follows a writer nor survives its compactions)."""
    from dataclasses import replace

    from studygraph.server import workers

    remote = is_remote(config.store)
    opened = _open(config)
    try:
        urls = Urls(_base_url(config, opened))
        if opened.base_url is None:
            opened.set_base_url(urls.base)
        if config.token and not remote:
            click.echo(f"--workers {config.workers} over the embedded store serves it read-only: writes are refused", err=True)
        try:
            listening = workers.bind(config.host, config.port)
        except OSError as error:
            raise click.ClickException(f"cannot listen on {config.host}:{config.port}: {error}") from None
        click.echo(f"serving {_shown_store(config)} at http://{config.host}:{config.port}/ with {config.workers} workers "
                   f"(IRIs under {urls.base})")
        if remote:
            worker_config, read_only = replace(config, base_url=urls.base), False
        else:
            worker_config, read_only = replace(config, base_url=urls.base, token=None), True
        status = workers.Supervisor(listening, config.workers, _serve_process, (worker_config, read_only), announce=click.echo).run()
    finally:
        opened.close()
    sys.exit(status)


def _query_pool(config: Config, opened: Catalogue, memory: int) -> QueryRunner:
    """Where public SPARQL queries run: killable query processes over checkpoints of the
    embedded store, or the store server's own query service, within the same deadline,
    row cap and concurrency (graph.remote_queries)."""
    from studygraph.graph.query_pool import QueryPool
    from studygraph.graph.remote.location import RemoteLocation
    from studygraph.graph.remote_queries import RemoteQueryPool

    where = _location(config)
    if isinstance(where, RemoteLocation):
        return RemoteQueryPool(
            where.endpoints.query_url, kind=where.endpoints.dialect, size=config.query_workers, queue=config.query_queue,
            deadline=config.query_deadline, store_timeout=config.store_timeout,
        )
    return QueryPool(opened.checkpoint, size=config.query_workers, deadline=config.query_deadline, queue=config.query_queue, memory=memory)


def _serve_process(config: Config, read_only: bool, listening: socket.socket | None) -> None:
    """One serving process: alone (binding the port itself), or a worker of `serve
    --workers` on the supervisor's *listening* socket, over a store opened *read_only*."""
    import logging

    from studygraph.server import auth, connections
    from studygraph.server.app import ServerSettings, create_app, stop_background_work
    from studygraph.server.sparql import SparqlSettings

    opened = _open(config, read_only=read_only)
    urls = Urls(_base_url(config, opened))
    if opened.base_url is None:
        opened.set_base_url(urls.base)
    settings = ServerSettings(
        base_url=urls.base, token=config.token, validate=config.validate, max_body_bytes=config.max_body_bytes,
        cache_path=config.cache or str(_local_folder(config) / CACHE_FILE), dump_dir=str(_local_folder(config)), dump_builds=config.dump_builds,
    )
    sparql_settings = SparqlSettings(
        deadline_seconds=config.query_deadline, max_rows=config.max_rows, max_query_bytes=config.max_query_bytes,
        allowed_services=frozenset(config.allowed_services.split()),
    )
    try:
        memory = byte_size(config.query_memory)
    except ValueError as error:
        raise click.ClickException(f"STUDYGRAPH_QUERY_MEMORY / --query-memory: {error}") from None
    # Every limit is a setting of the same name.
    limits = connections.Limits(**{f.name: getattr(config, f.name) for f in fields(connections.Limits) if hasattr(config, f.name)})
    pool = _query_pool(config, opened, memory)
    app = create_app(opened, settings, pool=pool, sparql_settings=sparql_settings)
    logging.basicConfig()
    server = connections.create(
        app, host=config.host, port=config.port, threads=config.threads, limits=limits,
        refuses_body=auth.body_refused(config.token), max_body_bytes=config.max_body_bytes, listen_socket=listening,
    )
    if listening is None:
        click.echo(f"serving {_shown_store(config)} at http://{config.host}:{config.port}/ (IRIs under {urls.base})")
    # A TERM (from a service manager, or a test) stops the server like Ctrl-C does, so the
    # query process and its checkpoints are cleaned up and the store is closed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.run()
    finally:
        if not stop_background_work(app):
            logging.getLogger("studygraph").warning("closing the store while a background render is still running")
        pool.close()
        opened.close()
