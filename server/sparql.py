"""The sparql blueprint, the SPARQL 1.1 endpoint: the public query service, its description and page, and the
authenticated update and Graph Store services.

Public queries (``/sparql``) follow the SPARQL 1.1 Protocol: GET ``?query=``, POST
``application/x-www-form-urlencoded`` or ``application/sparql-query``, with
``default-graph-uri``/``named-graph-uri``. The default graph is the union of the record
graphs; the named graphs are the record graphs. They run in a killable query process
(graph.query_pool) under a deadline, a cap on concurrent queries and a cap on rows;
SERVICE is refused unless its endpoint is allow-listed; updates are refused.
``/sparql/update`` and ``/sparql/store`` need the write token.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import BinaryIO
from urllib.parse import parse_qs, urlencode

from flask import Blueprint, Request, Response, render_template, request
from markupsafe import Markup
from pyoxigraph import Literal, NamedNode, Triple
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header
from werkzeug.wsgi import wrap_file

from studygraph import queries
from studygraph.graph.catalogue import Catalogue
from studygraph.graph.query_pool import PoolBusy, QueryFailed, QueryJob, QueryResult, QueryStopped
from studygraph.graph.sparql_guard import QueryRefused, add_using, inspect, inspect_update
from studygraph.mappings.formats import RESULT_FORMATS, RESULT_SYNTAXES, SYNTAX_BY_NAME
from studygraph.mappings.namespaces import DCAT, DCT, RDF, RDFS, SD, VOID, W3C_FORMATS, XSD

from . import auth, errors
from .negotiation import BY_MEDIA_TYPE, format_named
from .representations import prefixes, serialise
from .services import current_services

RDF_TYPE = RDF + "type"

#: A result format: our name for it (the serialiser), and the media type it is labelled with.
Chosen = tuple[str, str]
HTML: Chosen = ("html", "text/html")
#: Graph results are written in the RDF formats of document URLs, named and negotiated
#: alike (server.negotiation): every media type a client may send -> what answers it.
#: Turtle's come first: a client with no preference (``*/*``) gets Turtle, as from other endpoints.
GRAPH_CHOICES: dict[str, Chosen] = dict(sorted(
    ((media, (f.name, f.media_type)) for media, f in BY_MEDIA_TYPE.items() if f.rdf), key=lambda choice: choice[1][0] != "ttl",
))
#: Solution results: their own media types, and the other names clients use for them.
SOLUTION_ALIASES = {
    **{other: r.name for r in RESULT_SYNTAXES for other in r.other_names},
    **{broader: r.name for r in RESULT_SYNTAXES for broader in r.broader},
}
SOLUTION_CHOICES: dict[str, Chosen] = {
    **{media: (name, media) for name, media in RESULT_FORMATS.items()},
    **{alias: (name, RESULT_FORMATS[name]) for alias, name in SOLUTION_ALIASES.items() if "/" in alias},
}
#: What a graph result is written in when nothing says otherwise.
TURTLE = SYNTAX_BY_NAME["ttl"].media_type
#: What the query page offers its results as, by kind of result.
GRAPH_DOWNLOADS = ("ttl", "nt", "rdf", "jsonld")
#: The formats the service description names: solutions', then graphs' in this order.
DESCRIBED_GRAPH_FORMATS = ("ttl", "nt", "rdf", "jsonld", "nq", "trig")


QUERIES_ONLY = "this endpoint only answers queries; updates go to the authenticated /sparql/update"


@dataclass(frozen=True)
class SparqlSettings:
    deadline_seconds: float = 10.0
    max_rows: int = 100_000
    #: Longest public query: the guard reads every query in the web process before it
    #: runs (linear time, but time all the same), and real queries are far shorter.
    max_query_bytes: int = 256 * 1024
    #: Longest update (authenticated: INSERT DATA may carry a lot).
    max_update_bytes: int = 1024 * 1024
    allowed_services: frozenset[str] = frozenset()


#: A query that uses SERVICE and fails while running gets this, not Oxigraph's message:
#: that would say how the endpoint failed ("connection refused" on a host and port).
SERVICE_FAILED = (
    "the query could not be evaluated: a SERVICE endpoint did not answer usably, or the evaluation failed "
    "(queries that use SERVICE get no details)"
)
#: Where the results go in the rendered query page (streamed in between its two halves).
RESULTS_MARK = "<!--studygraph:results-->"


class ProtocolError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def examples() -> list[dict[str, str]]:
    """The example queries shipped in ``queries/examples``: title (first comment) and text."""
    found = []
    folder = resources.files(queries).joinpath("examples")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            text = entry.read_text(encoding="utf-8")
            title = text.splitlines()[0].lstrip("# ").strip() if text.startswith("#") else entry.name
            found.append({"name": entry.name, "title": title, "query": text})
    return found


blueprint = Blueprint("sparql", __name__)


@blueprint.route("/sparql", methods=["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH"], strict_slashes=False)
def sparql_query() -> Response:
    try:
        return _query(request)
    except ProtocolError as error:
        return _error(error.status, error.message)


def _query(req: Request) -> Response:
    services = current_services()
    settings, pool, base_url = services.sparql, services.query_pool(), services.urls.base
    started = time.monotonic()  # the deadline counts from here: reading the query, waiting, running
    if req.method not in ("GET", "POST", "HEAD"):
        raise ProtocolError(405, "use GET or POST for SPARQL queries")
    query, defaults, named, formats = _read_query_request(req, settings.max_query_bytes)
    if query is None:
        return _no_query(req, formats)
    try:
        shape = inspect(query, settings.allowed_services)
    except QueryRefused as error:
        raise ProtocolError(error.status, str(error)) from None
    chosen, media = _choose_result_format(req, shape.form or "SELECT", formats)
    html = chosen == "html"
    graph_form = shape.form in ("CONSTRUCT", "DESCRIBE")
    job = QueryJob(
        query=shape.text,  # the guard's normal form, never the client's text
        format=chosen,
        max_rows=settings.max_rows,
        default_graphs=defaults,
        named_graphs=named,
        union_default_graph=not shape.dataset or bool(defaults or named),
        base_iri=f"{base_url}/sparql",
        prefixes=prefixes(base_url) if graph_form else {},
        within_cap=not html and shape.form == "SELECT" and shape.limit is not None and shape.limit <= settings.max_rows,
        form=shape.form or "SELECT",
    )
    try:
        result = pool.run(job, started)
    except QueryStopped as error:
        response = _error(503, f"{error}. Narrow the query (LIMIT, more specific patterns) and try again.")
        response.headers["Retry-After"] = "5"
        return response
    except PoolBusy:
        response = _error(503, "too many queries are running; try again shortly")
        response.headers["Retry-After"] = "1"
        return response
    except QueryFailed as error:
        message = SERVICE_FAILED if shape.services and not error.syntax else str(error)
        if html:
            return _page(req, query, error=message, status=400 if error.syntax else 500)
        raise ProtocolError(400 if error.syntax else 500, message) from None
    if html:
        kind = "graph" if graph_form else "boolean" if shape.form == "ASK" else "table"
        response = _results_page(query, kind, result)
    elif result.path is None:
        response = Response(result.data, content_type=_with_charset(media))
    else:
        response = _spooled_response(req, result.path, _with_charset(media))
    response.headers["Vary"] = "Accept"
    response.headers["X-SPARQL-Max-Rows"] = str(settings.max_rows)
    if result.truncated:
        response.headers["X-SPARQL-Truncated"] = f"true; the result was cut at {settings.max_rows} rows"
    return response


def _results_page(query: str, kind: str, result: QueryResult) -> Response:
    """The query page with the results the query process wrote as HTML (a table, a
    boolean, or the triples as Turtle), streamed from memory or the spool file between
    the page's two halves: the web process never holds more than a chunk of them."""
    page = _render(query, kind=kind, rows=result.rows or 0, truncated=result.truncated, body=Markup(RESULTS_MARK))
    head, tail = (part.encode() for part in page.split(RESULTS_MARK, 1))
    if result.path is None:
        data = result.data or b""
        chunks: Iterator[bytes] = iter((head, data, tail))
        size = len(data)
    else:
        spooled = _open_spooled(result.path)
        size = os.fstat(spooled.fileno()).st_size
        chunks = _between(head, spooled, tail)
    response = Response(chunks, content_type="text/html; charset=utf-8", direct_passthrough=True)
    response.content_length = len(head) + size + len(tail)
    return response


def _no_query(req: Request, formats: tuple[str, ...]) -> Response:
    """GET /sparql with no query: the service description, or the query page (also
    for ``*/*``: whoever opens the endpoint's URL without a query is a person)."""
    services = current_services()
    settings, store, base_url = services.sparql, services.store, services.urls.base
    chosen, media = _named_format(formats, graph=True) or _best_of(req.headers.get("Accept", ""), {"text/html": HTML, **GRAPH_CHOICES}) or HTML
    if chosen == "html":
        return _page(req, "")
    body = serialise(service_description(base_url, store, settings), chosen, base_url, root=f"{base_url}/sparql")
    response = Response(body, content_type=_with_charset(media))
    response.headers["Vary"] = "Accept"
    return response


def _page(req: Request, query: str, *, error: str | None = None, status: int = 200) -> Response:
    """The query page without results: empty, or with an error."""
    return Response(_render(query, error=error), status=status, content_type="text/html; charset=utf-8")


def _render(query: str, *, kind: str | None = None, error: str | None = None, rows: int = 0, truncated: bool = False, body: Markup | None = None) -> str:
    settings = current_services().sparql
    names = list(GRAPH_DOWNLOADS) if kind == "graph" else [r.name for r in RESULT_SYNTAXES]
    download = [{"label": name.upper(), "href": "/sparql?" + urlencode({"query": query, "format": name})} for name in names] if query else []
    return render_template(
        "sparql.html", query=query or examples()[0]["query"], examples=examples(), kind=kind, results=body, error=error,
        downloads=download, truncated=truncated, rows=rows, max_rows=settings.max_rows, deadline=settings.deadline_seconds,
    )


@blueprint.route("/sparql/update", methods=["GET", "POST", "PUT", "DELETE"])
def sparql_update() -> Response:
    services = current_services()
    settings, store, pool, writes, base_url = services.sparql, services.store, services.query_pool(), services.writes, services.urls.base
    refused = auth.refusal(services.settings.token)
    if refused is not None:
        return refused
    try:
        if request.method != "POST":
            raise ProtocolError(405, "updates are sent by POST")
        update, using, using_named = _read_update_request(request, settings.max_update_bytes)
        try:
            # The normal form, like queries: LOAD refused, SERVICE held to the allow-list.
            update = add_using(inspect_update(update, settings.allowed_services), using, using_named)
        except QueryRefused as error:
            raise ProtocolError(400, str(error)) from None
        with writes:
            try:
                store.update(update, base_iri=f"{base_url}/sparql/update")
            except SyntaxError as error:
                raise ProtocolError(400, str(error)) from None
            except OSError as error:
                if errors.is_disk_full(error):
                    raise  # 507, by the app's error handler (server.errors)
                raise ProtocolError(500, str(error)) from None
            pool.refresh()
    except ProtocolError as error:
        return _error(error.status, error.message)
    return Response(status=204)


@blueprint.route("/sparql/store", methods=["GET", "HEAD", "PUT", "POST", "DELETE"])
def graph_store() -> Response:
    services = current_services()
    store, pool, writes, base_url = services.store, services.query_pool(), services.writes, services.urls.base
    # Every method needs the token (reads too: they bypass the query pool's deadline and row cap).
    refused = auth.refusal(services.settings.token)
    if refused is not None:
        return refused
    graph = request.args.get("graph")
    default = "default" in request.args
    if bool(graph) == default:
        return _error(400, "name the graph with ?graph=IRI, or ?default for the default graph")
    try:
        target = NamedNode(graph) if graph else None
    except ValueError:
        return _error(400, "?graph= is not a valid IRI")
    if request.method in ("GET", "HEAD"):
        triples = store.graph_store_get(target)
        if triples is None:
            return _error(404, "no such graph")
        chosen, media = _best_of(request.headers.get("Accept", ""), GRAPH_CHOICES) or GRAPH_CHOICES[TURTLE]
        # The one place a graph keeps its name in N-Quads and TriG: it is asked for as a named graph.
        body = serialise(triples, chosen, base_url, graph=graph)
        return Response(body, content_type=_with_charset(media))
    if request.method == "DELETE":
        with writes:
            existed = store.graph_store_delete(target)
            pool.refresh()
        return Response(status=204) if existed else _error(404, "no such graph")
    media = request.mimetype or TURTLE
    data = request.get_data()
    with writes:
        try:
            created = store.graph_store_write(target, data, media, replace=request.method == "PUT")
        except (SyntaxError, ValueError) as error:
            return _error(400, f"cannot parse the body as {media}: {error}")
        pool.refresh()
    return Response(status=201 if created else 204)


def _read_query_request(req: Request, limit: int) -> tuple[str | None, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The query, the protocol dataset and the ``format``/``output`` values of a request
    (from the URL, then a form body), validated as the protocol says."""
    args = parse_qs(req.query_string.decode("latin-1"), keep_blank_values=True)
    if "update" in args:
        raise ProtocolError(403, QUERIES_ONLY)
    queries = args.get("query", [])
    defaults, named = args.get("default-graph-uri", []), args.get("named-graph-uri", [])
    formats = args.get("format", []) + args.get("output", [])
    if req.method == "POST":
        media = req.mimetype
        if media == "application/x-www-form-urlencoded":
            body = _utf8(req.get_data(cache=True), limit)
            form = parse_qs(body, keep_blank_values=True)
            if "update" in form:
                raise ProtocolError(403, QUERIES_ONLY)
            queries = queries + form.get("query", [])
            defaults = defaults + form.get("default-graph-uri", [])
            named = named + form.get("named-graph-uri", [])
            formats = formats + form.get("format", []) + form.get("output", [])
        elif media == "application/sparql-query":
            queries = queries + [_direct_body(req, limit)]
        elif media == "application/sparql-update":
            raise ProtocolError(403, QUERIES_ONLY)
        else:
            raise ProtocolError(415, "POST a query as application/x-www-form-urlencoded or application/sparql-query")
    if len(queries) > 1:
        raise ProtocolError(400, "more than one query in the request")
    if not queries:
        return None, (), (), tuple(formats)
    query = queries[0]
    if len(query.encode()) > limit:
        raise ProtocolError(413, f"query longer than {limit} bytes")
    return query, tuple(defaults), tuple(named), tuple(formats)


def _read_update_request(req: Request, limit: int) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    args = parse_qs(req.query_string.decode("latin-1"), keep_blank_values=True)
    updates = args.get("update", [])
    using, using_named = args.get("using-graph-uri", []), args.get("using-named-graph-uri", [])
    media = req.mimetype
    if media == "application/x-www-form-urlencoded":
        form = parse_qs(_utf8(req.get_data(cache=True), limit), keep_blank_values=True)
        updates = updates + form.get("update", [])
        using = using + form.get("using-graph-uri", [])
        using_named = using_named + form.get("using-named-graph-uri", [])
    elif media == "application/sparql-update":
        updates = updates + [_direct_body(req, limit)]
    else:
        raise ProtocolError(415, "POST an update as application/x-www-form-urlencoded or application/sparql-update")
    if len(updates) != 1:
        raise ProtocolError(400, "exactly one update per request")
    return updates[0], tuple(using), tuple(using_named)


def _direct_body(req: Request, limit: int) -> str:
    """A query or update sent as the whole body: it must be UTF-8 (protocol 2.1.3, 2.2.2)."""
    if req.mimetype_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise ProtocolError(415, "SPARQL queries and updates must be sent in UTF-8")
    return _utf8(req.get_data(cache=True), limit)


def _utf8(data: bytes, limit: int) -> str:
    if len(data) > limit:
        raise ProtocolError(413, f"request body longer than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, "the request body is not UTF-8") from None


def _choose_result_format(req: Request, form: str, formats: tuple[str, ...]) -> Chosen:
    """The result format: the first ``format``/``output`` value naming one this query
    form has, else the ``Accept`` header; 406 if that fits nothing either.

    A value we do not know, or one naming the other kind of result, is passed over rather
    than refused, as Oxigraph's server does: SPARQLWrapper repeats its return format in
    every parameter an endpoint might read (``format=rdf+xml&format=application/rdf+xml``,
    ``format=n3``, ``format=json`` for a CONSTRUCT) and relies on its Accept header."""
    graph = form in ("CONSTRUCT", "DESCRIBE")
    return _named_format(formats, graph) or _format_for_accept(req.headers.get("Accept", ""), graph)


def _named_format(values: tuple[str, ...], graph: bool) -> Chosen | None:
    """The first of *values* naming HTML or a format of this kind of result."""
    for value in values:
        value = value.strip().lower()
        if value == "html":
            return HTML
        if graph:
            format = format_named(value)
            if format is not None and format.rdf:
                return format.name, format.media_type
        else:
            name = SOLUTION_ALIASES.get(value, value)
            if name in RESULT_FORMATS:
                return name, RESULT_FORMATS[name]
            if value in SOLUTION_CHOICES:
                return SOLUTION_CHOICES[value]
    return None


def _best_of(header: str, choices: dict[str, Chosen]) -> Chosen | None:
    """What an ``Accept`` header prefers among *choices* (by media type), or None."""
    best = parse_accept_header(header, MIMEAccept).best_match(list(choices))
    return choices[best] if best is not None else None


@functools.lru_cache(maxsize=512)
def _format_for_accept(header: str, graph: bool) -> Chosen:
    """The format an Accept header chooses. Clients send few distinct headers, so the
    answer is remembered per header (ProtocolError for 406 is raised afresh each time)."""
    choices = GRAPH_CHOICES if graph else SOLUTION_CHOICES
    if not header.strip():
        return GRAPH_CHOICES[TURTLE] if graph else SOLUTION_CHOICES[RESULT_FORMATS["json"]]
    accept = parse_accept_header(header, MIMEAccept)
    best = accept.best_match(list(choices))
    html_quality = accept["text/html"]
    # HTML only for clients that name it (browsers): ``*/*`` alone (curl, requests) gets data.
    named_html = any(value.lower() == "text/html" for value, _ in accept)
    if html_quality and html_quality >= (accept[best] if best else 0) and named_html:
        return HTML
    if best is None:
        raise ProtocolError(406, f"none of {', '.join(dict.fromkeys(media for _, media in choices.values()))} is acceptable")
    return choices[best]


def _open_spooled(path: str) -> BinaryIO:
    """A spool file, open and already unlinked: nothing is left behind whatever happens
    to the connection (the handle keeps it readable)."""
    spooled = open(path, "rb")
    try:
        os.unlink(path)
    except OSError:
        spooled.close()
        raise
    return spooled


def _between(head: bytes, spooled: BinaryIO, tail: bytes) -> Iterator[bytes]:
    """*head*, the spool file in chunks, then *tail*; the file is closed at the end."""
    try:
        yield head
        while chunk := spooled.read(256 * 1024):
            yield chunk
        yield tail
    finally:
        spooled.close()


def _spooled_response(req: Request, path: str, content_type: str) -> Response:
    """A response sent straight from a spool file through the server's file wrapper.

    The file is unlinked as soon as it is open (the handle keeps it readable, and nothing
    is left behind whatever happens to the connection); its size is the Content-Length.
    Waitress sends a wrapped file from the file itself, rather than copying a large body
    into its output buffer, which spills past 1 MiB into a temporary file of its own.
    """
    spooled = _open_spooled(path)
    size = os.fstat(spooled.fileno()).st_size
    response = Response(wrap_file(req.environ, spooled, buffer_size=256 * 1024), content_type=content_type, direct_passthrough=True)
    response.content_length = size
    return response


#: Result media types whose Content-Type names no charset.
_WITHOUT_CHARSET = tuple(r.media_type for r in RESULT_SYNTAXES if not r.charset)


def _with_charset(media: str) -> str:
    return media if media in _WITHOUT_CHARSET else f"{media}; charset=utf-8"


def _error(status: int, message: str) -> Response:
    return Response(message.rstrip() + "\n", status=status, content_type="text/plain; charset=utf-8")


def service_description(base_url: str, store: Catalogue, settings: SparqlSettings) -> list[Triple]:
    """SPARQL 1.1 Service Description of the public endpoint."""
    endpoint = NamedNode(f"{base_url}/sparql")
    dataset = NamedNode(f"{base_url}/sparql#dataset")
    default_graph = NamedNode(f"{base_url}/sparql#default-graph")
    a = NamedNode(RDF_TYPE)

    def sd(term: str) -> NamedNode:
        return NamedNode(SD + term)

    triples = [
        Triple(endpoint, a, sd("Service")),
        Triple(endpoint, sd("endpoint"), endpoint),
        Triple(endpoint, sd("supportedLanguage"), sd("SPARQL11Query")),
        Triple(endpoint, sd("feature"), sd("UnionDefaultGraph")),
        Triple(endpoint, sd("feature"), sd("BasicFederatedQuery")),
        Triple(endpoint, sd("defaultDataset"), dataset),
        Triple(dataset, a, sd("Dataset")),
        Triple(dataset, sd("defaultGraph"), default_graph),
        Triple(default_graph, a, sd("Graph")),
        Triple(default_graph, NamedNode(RDFS + "comment"), Literal(
            "The default graph is the union of all named graphs, each triple once. Each record is a named graph "
            f"named by its document URL ({base_url}/items/SLUG); each shared thing (keyword, organisation, ...) "
            "is described once, in the graph of its own document; the named graphs are not listed here.")),
        Triple(endpoint, NamedNode(DCT + "description"), Literal(
            f"Public, read-only SPARQL 1.1 endpoint. Queries stop after {settings.deadline_seconds:g} s (503), "
            f"results are cut at {settings.max_rows} rows (X-SPARQL-Truncated header); SERVICE only to allow-listed endpoints.")),
    ]
    for name in (*(r.w3c_name for r in RESULT_SYNTAXES), *(SYNTAX_BY_NAME[n].w3c_name for n in DESCRIBED_GRAPH_FORMATS)):
        triples.append(Triple(endpoint, sd("resultFormat"), NamedNode(W3C_FORMATS + name)))
    if store.index is not None:
        triples.append(Triple(dataset, NamedNode(VOID + "classPartition"), NamedNode(f"{base_url}/sparql#records")))
        triples.append(Triple(NamedNode(f"{base_url}/sparql#records"), NamedNode(VOID + "class"), NamedNode(DCAT + "CatalogRecord")))
        triples.append(Triple(NamedNode(f"{base_url}/sparql#records"), NamedNode(VOID + "entities"), Literal(str(store.index.count()), datatype=NamedNode(XSD + "integer"))))
    return triples
