"""Readers: every format from small fixtures, bad input, streaming, and the real records."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from studygraph.mappings.readers import FORMATS, read_bytes, read_paths, sniff_format
from studygraph.mappings.readers.jsonstream import iter_array
from studygraph.mappings.records import Rejection, SourceRecord

FIXTURES = Path(__file__).parent / "fixtures" / "readers"
RECORDS = Path(__file__).parents[2] / "shared" / "records"


def read(*paths: Path | str, format: str | None = None) -> tuple[list[SourceRecord], list[Rejection]]:
    results = list(read_paths([str(p) for p in paths], format=format))
    records = [r for r in results if isinstance(r, SourceRecord)]
    rejections = [r for r in results if isinstance(r, Rejection)]
    assert len(records) + len(rejections) == len(results)
    return records, rejections


def record_line(n: int) -> bytes:
    record = {"dataset_schema": {"@type": "Dataset", "name": f"Study {n}"}, "extra_data": {"slug": f"study-{n}"}}
    return json.dumps({"record": record, "_provenance": {"n": n}}).encode() + b"\n"


# --- harmony ---------------------------------------------------------------------------


def test_json_array_gives_records_by_index_and_rejects_non_objects() -> None:
    records, rejections = read(FIXTURES / "array.json")
    assert [r.data["dataset_schema"]["name"] for r in records] == ["Array one", "Array two", "Array four"]
    assert [r.origin.index for r in records] == [0, 1, 3]
    assert all(r.format == "harmony" and r.origin.line is None for r in records)
    assert records[1].provenance == {"source": "fixture", "fetched": "2024-01-01"}
    assert records[1].data["ancestors"] == [] and "parent" in records[1].data
    assert records[0].provenance == {}
    assert records[2].data["extra_data"] == {}  # missing extra_data becomes {}
    [rejection] = rejections
    assert rejection.origin.index == 2 and rejection.reason == "record is not a JSON object"
    assert str(rejection).endswith("array.json[2]: record is not a JSON object")


def test_json_lines_keep_going_past_bad_lines() -> None:
    records, rejections = read(FIXTURES / "lines.jsonl")
    assert [(r.origin.line, r.data["extra_data"].get("slug")) for r in records] == [
        (1, "line-one"),
        (5, "line-five"),
        (8, "line-eight"),
    ]
    assert records[0].provenance == {"source": "fixture"}
    assert records[0].data["child_datasets"] == [{"dataset_schema": {}}]
    assert records[2].data["dataset_schema"] == {}
    by_line = {r.origin.line: r for r in rejections}
    assert sorted(by_line) == [2, 3, 6, 7]
    assert by_line[2].reason.startswith("invalid JSON: Expecting ',' delimiter")
    assert by_line[3].reason == "record is not a JSON object"
    assert "no dataset_schema, extra_data or record" in by_line[6].reason
    assert by_line[7].field == "dataset_schema" and "not a JSON object" in by_line[7].reason


def test_single_pretty_object_is_one_record_without_line() -> None:
    [record], rejections = read(FIXTURES / "single.json")
    assert rejections == []
    assert record.origin.line is None and record.origin.index is None
    assert record.data["dataset_schema"]["keywords"] == ["one", "two"]
    assert record.data["extra_data"]["slug"] == "single-pretty-record"
    assert record.provenance == {"source": "fixture"}


def test_json_lines_whose_first_line_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "broken-first.jsonl"
    path.write_bytes(b'{"record": {"dataset_schema": \n' + record_line(2) + record_line(3))
    records, [rejection] = read(path)
    assert [r.origin.line for r in records] == [2, 3]
    assert rejection.origin.line == 1 and rejection.reason.startswith("invalid JSON")


def test_broken_pretty_object_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "dataset_schema": {\n    "name": "x",\n  }\n}\n')
    records, [rejection] = read(path)
    assert records == []
    assert rejection.origin.line == 4 and rejection.reason.startswith("invalid JSON")


def test_array_goes_on_after_a_broken_element(tmp_path: Path) -> None:
    path = tmp_path / "partly-broken.json"
    path.write_text('[{"extra_data": {"slug": "a"}}, {"extra_data": {"slug": tru}}, {"extra_data": {"slug": "c"}}]')
    records, [rejection] = read(path)
    assert [(r.origin.index, r.data["extra_data"]["slug"]) for r in records] == [(0, "a"), (2, "c")]
    assert rejection.origin.index == 1 and rejection.reason.startswith("invalid JSON")


def test_array_cut_short_keeps_complete_elements(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('[{"extra_data": {"slug": "a"}}, {"extra_data": {"slug": "b"}}, {"extra_data": {"sl')
    records, [rejection] = read(path)
    assert [r.data["extra_data"]["slug"] for r in records] == ["a", "b"]
    assert rejection.origin.index == 2 and "unexpected end of file" in rejection.reason


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64])
def test_array_splitter_across_chunk_boundaries(chunk_size: int) -> None:
    values = [{"naïve": "東京 ☕", "esc": 'q"\\]}'}, 12345678, -1.5e3, "x,]", None, True, [1, [2, {"a": []}]]]
    data = json.dumps(values, ensure_ascii=False).encode()
    stream = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    elements = list(iter_array(stream, chunk_size=chunk_size))  # type: ignore[arg-type]
    assert [e.error for e in elements] == [None] * len(values)
    assert [e.value for e in elements] == values
    assert [e.index for e in elements] == list(range(len(values)))


def test_json_array_streams_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    description = "A generated study record used to check that arrays stream. " * 4
    with path.open("wb") as out:
        out.write(b"[\n")
        for n in range(20_000):
            record = {
                "dataset_schema": {"@type": "Dataset", "name": f"Study {n}", "description": description},
                "extra_data": {"slug": f"study-{n}", "urls": [f"https://example.org/{n}"]},
            }
            out.write(b",\n" if n else b"")
            out.write(json.dumps(record).encode())
        out.write(b"\n]\n")
    size = path.stat().st_size
    count = rejected = 0
    tracemalloc.start()
    try:
        for result in read_paths([str(path)]):
            if isinstance(result, SourceRecord):
                count += 1
            else:
                rejected += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, rejected) == (20_000, 0)
    assert peak < size / 4, f"peak {peak} bytes for a {size}-byte file"


# --- compressed, broken and unreadable input -------------------------------------------


def test_gzip_is_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "records.json.gz"
    path.write_bytes(gzip.compress((FIXTURES / "array.json").read_bytes()))
    records, rejections = read(path)
    assert len(records) == 3 and len(rejections) == 1
    assert records[0].origin.source == str(path)


def test_truncated_gzip_keeps_records_read_before(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(record_line(n) for n in range(5000)))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    after = tmp_path / "z-after.jsonl"
    after.write_bytes(record_line(1))
    records, [rejection] = read(path, after)
    from_cut = [r for r in records if r.origin.source == str(path)]
    assert 0 < len(from_cut) < 5000
    assert [r.origin.line for r in from_cut] == list(range(1, len(from_cut) + 1))
    assert rejection.origin.source == str(path) and rejection.origin.line == len(from_cut) + 1
    assert rejection.reason.startswith("truncated gzip data")
    assert records[-1].origin.source == str(after)  # the next file is still read


def test_tiny_truncated_gzip_is_a_rejection(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json.gz"
    path.write_bytes(gzip.compress((FIXTURES / "single.json").read_bytes())[:-12])
    records, [rejection] = read(path)
    assert records == [] and "gzip" in rejection.reason


def test_invalid_utf8_line_is_rejected_and_others_kept(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(record_line(1) + b'{"extra_data": {"name": "caf\xe9"}}\n' + record_line(3))
    records, [rejection] = read(path)
    assert [r.origin.line for r in records] == [1, 3]
    assert rejection.origin.line == 2 and rejection.reason.startswith("invalid UTF-8 (byte 0xe9")


def test_invalid_utf8_in_a_whole_document_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{\n  "extra_data": {\n    "name": "caf\xe9"\n  }\n}\n')
    records, [rejection] = read(path)
    assert records == [] and rejection.origin.line == 3 and rejection.reason.startswith("invalid UTF-8")


def test_missing_file_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    records, [rejection] = read(missing, FIXTURES / "single.json")
    assert len(records) == 1
    assert rejection.origin.source == str(missing)
    assert rejection.reason == "cannot read: No such file or directory"


def test_unreadable_file_is_rejected(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root can read a file without read permission")
    path = tmp_path / "secret.jsonl"
    path.write_bytes(record_line(1))
    path.chmod(0)
    records, [rejection] = read(path)
    assert records == [] and rejection.reason == "cannot read: Permission denied"


def test_unrecognised_and_empty_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n")
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"\n  \n")
    records, rejections = read(text, empty)
    assert records == []
    assert [r.reason for r in rejections] == ["unrecognised format (use --format)", "empty input"]


def test_directory_is_read_recursively_sorted_without_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden-dir").mkdir()
    (tmp_path / "b" / "2.jsonl").write_bytes(record_line(2))
    (tmp_path / "a.jsonl").write_bytes(record_line(1))
    (tmp_path / "sub" / "c.json").write_bytes(record_line(3))
    (tmp_path / ".hidden.jsonl").write_bytes(record_line(98))
    (tmp_path / ".hidden-dir" / "x.jsonl").write_bytes(record_line(99))
    (tmp_path / "notes.txt").write_text("no format here")
    results = list(read_paths([str(tmp_path)]))
    assert [Path(r.origin.source).relative_to(tmp_path).as_posix() for r in results] == [
        "a.jsonl",
        "b/2.jsonl",
        "notes.txt",
        "sub/c.json",
    ]
    assert isinstance(results[2], Rejection) and results[2].reason == "unrecognised format (use --format)"
    assert [r.provenance["n"] for r in results if isinstance(r, SourceRecord)] == [1, 2, 3]


def test_read_bytes_sniffs_and_decompresses() -> None:
    data = gzip.compress((FIXTURES / "lines.jsonl").read_bytes())
    results = list(read_bytes(data, name="upload.jsonl.gz"))
    records = [r for r in results if isinstance(r, SourceRecord)]
    assert len(records) == 3 and len(results) == 7
    assert {r.origin.source for r in results} == {"upload.jsonl.gz"}
    [page] = read_bytes((FIXTURES / "page.txt").read_bytes())
    assert isinstance(page, SourceRecord) and page.origin.source == "<body>" and page.format == "harmony-page"


def test_stdin(tmp_path: Path) -> None:
    code = (
        "from studygraph.mappings.readers import read_paths\n"
        "for r in read_paths(['-']): print(r.origin, type(r).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=gzip.compress(record_line(1) + b"{oops\n"),
        capture_output=True,
        check=True,
        cwd=tmp_path,
    )
    assert done.stdout.decode().splitlines() == ["-:1 SourceRecord", "-:2 Rejection"]


# --- format selection ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'\xef\xbb\xbf  {"record": {"dataset_schema": {}}}', "harmony"),
        (b'[{"dataset_schema": {"@context": "https://schema.org/"}}]', "harmony"),
        (b'{"foo": 1}', "harmony"),
        (b'\n{"@context": "https://schema.org/", "@type": "Dataset"}', "jsonld"),
        (b'[{"@graph": []}]', "jsonld"),
        (b'1:"$Sreact.fragment"\n2:I[1,[],""]', "harmony-page"),
        (b':HL["/a.css","style"]\n0:{"P":null}', "harmony-page"),
        (b"  <!DOCTYPE html><html><head>", "html"),
        (b"<html lang=en>", "html"),
        (b'<?xml version="1.0"?><rdf:RDF>', "dcat"),
        (b'@prefix dcat: <http://www.w3.org/ns/dcat#> .', "dcat"),
        (b"hello: world", None),
        (b"", None),
    ],
)
def test_sniff_format(head: bytes, expected: str | None) -> None:
    assert sniff_format(head) == expected


def test_format_can_be_forced_and_must_be_known() -> None:
    records, rejections = read(FIXTURES / "dataset.jsonld", format="harmony")
    assert records == [] and "not a Harmony record" in rejections[0].reason
    with pytest.raises(ValueError, match="unknown format"):
        read_paths(["x"], format="csv")
    assert FORMATS == ("harmony", "harmony-page", "jsonld", "html", "dcat")


# --- harmony-page (flight) ---------------------------------------------------------------


def test_flight_page_resolves_text_rows_by_byte_length() -> None:
    [record], rejections = read(FIXTURES / "page.txt")
    assert rejections == []
    assert record.format == "harmony-page" and record.origin.line is None and record.provenance == {}
    schema, extra = record.data["dataset_schema"], record.data["extra_data"]
    assert schema["description"] == (
        "Résumé – naïve café ☕, a text row with a fake row inside:\n3:T5,not a row\nand it ends here"
    )
    assert extra["notes"] == "Zürich 東京: the notes row"
    assert schema["keywords"] == ["$5 price", "$5", "$L2", "$1", None]  # only text rows resolve
    assert "alternateName" not in schema and "duration_years" not in extra
    assert extra["nested"] == {"kept": 1}


def test_flight_page_without_study_or_with_truncated_text(tmp_path: Path) -> None:
    no_study = tmp_path / "no-study.txt"
    no_study.write_bytes(b'1:"$Sreact.fragment"\n0:{"P":null,"c":["x"]}\n')
    cut = tmp_path / "cut.txt"
    cut.write_bytes(b'0:{"study":{"dataset_schema":{"description":"$a"},"extra_data":{}}}\na:T20,only a few bytes')
    records, rejections = read(no_study, cut)
    assert records == []
    assert "no study object" in rejections[0].reason
    assert rejections[1].reason == "text row a is truncated: 16 of 32 bytes" and rejections[1].origin.line == 2


# --- JSON-LD and HTML ----------------------------------------------------------------------


def test_jsonld_datasets_are_converted() -> None:
    records, rejections = read(FIXTURES / "dataset.jsonld")
    assert rejections == []
    assert [r.origin.index for r in records] == [0, 1] and {r.format for r in records} == {"jsonld"}
    schema, extra = records[0].data["dataset_schema"], records[0].data["extra_data"]
    assert schema["@context"] == "https://schema.org/" and schema["@type"] == "Dataset"
    assert schema["name"] == extra["name"] == "Cohort One"
    assert schema["url"] == extra["urls"] == ["https://example.org/studies/cohort-one"]
    assert schema["keywords"] == ["health", "ageing", "wellbeing"]
    assert schema["identifier"] == ["10.1234/cohort.one", "C1-2020", "https://doi.org/10.1234/cohort.one.v2"]
    assert extra["dois"] == ["10.1234/cohort.one", "https://doi.org/10.1234/cohort.one.v2"]
    assert schema["includedInDataCatalog"] == [
        {"@type": "DataCatalog", "name": "Example Catalogue", "url": "https://example.org/"}
    ]
    assert schema["funder"] == [{"@type": "Organization", "name": "Economic and Social Research Council"}]
    assert schema["creator"] == [
        {"@type": "Person", "name": "Ada Lovelace"},
        {"@type": "Organization", "name": "Example University"},
    ]
    assert schema["temporalCoverage"] == "2020-01/2021-06"
    assert schema["license"] == ["https://creativecommons.org/licenses/by/4.0/"]
    assert schema["variableMeasured"] == [{"name": "age", "description": "Age in years"}, {"name": "sex"}]
    assert extra["geographic_coverage"] == "United Kingdom" and extra["language_codes"] == ["en"]
    assert "slug" not in extra
    assert records[1].data == {
        "dataset_schema": {
            "@context": "https://schema.org/",
            "@type": "Dataset",
            "name": "Cohort Two",
            "description": "Another one.",
            "keywords": ["a", "b"],
        },
        "extra_data": {"name": "Cohort Two"},
    }


@pytest.mark.parametrize(
    "context",
    [
        "http://schema.org",
        "https://schema.org/",
        "https://schema.org/docs/jsonldcontext.jsonld",
        {"@vocab": "http://schema.org/"},
    ],
)
def test_jsonld_schema_org_contexts_work_offline(tmp_path: Path, context: object) -> None:
    path = tmp_path / "one.jsonld"
    path.write_text(json.dumps({"@context": context, "@type": "Dataset", "name": "Offline", "url": "https://e.org/x"}))
    [record], rejections = read(path)
    assert rejections == [] and record.origin.index is None
    assert record.data["dataset_schema"]["name"] == "Offline"
    assert record.data["dataset_schema"]["url"] == ["https://e.org/x"]


def test_jsonld_remote_context_and_no_dataset_are_rejected(tmp_path: Path) -> None:
    remote = tmp_path / "remote.jsonld"
    remote.write_text(json.dumps({"@context": "https://example.org/ctx.jsonld", "@type": "Dataset", "name": "x"}))
    person = tmp_path / "person.jsonld"
    person.write_text(json.dumps({"@context": "https://schema.org/", "@type": "Person", "name": "Ada"}))
    records, rejections = read(remote, person)
    assert records == []
    assert [r.reason for r in rejections] == [
        "remote context not available offline: https://example.org/ctx.jsonld",
        "no schema.org Dataset in the JSON-LD",
    ]


def test_html_page_json_ld_blocks() -> None:
    [record], rejections = read(FIXTURES / "page.html")
    assert rejections == []
    assert record.format == "html" and record.origin.line == 13
    schema = record.data["dataset_schema"]
    assert schema["name"] == "Panel Study <&> Friends"
    assert schema["identifier"] == ["https://doi.org/10.5678/panel"]
    assert schema["publisher"] == [{"@type": "Organization", "name": "Example Archive"}]
    assert record.data["extra_data"]["dois"] == ["https://doi.org/10.5678/panel"]


def test_html_without_dataset_or_with_broken_block(tmp_path: Path) -> None:
    plain = tmp_path / "plain.html"
    plain.write_text("<!doctype html><html><body><p>No data here</p></body></html>")
    broken = tmp_path / "broken.html"
    dataset = json.dumps({"@context": "https://schema.org/", "@type": "Dataset", "name": "Kept"})
    broken.write_text(
        '<html>\n<script type="application/ld+json">{"@context": </script>\n'
        f'<script type="application/ld+json; charset=utf-8">{dataset}</script>\n</html>'
    )
    records, rejections = read(plain, broken)
    assert [r.data["dataset_schema"]["name"] for r in records] == ["Kept"]
    assert records[0].origin.line == 3
    assert rejections[0].reason == "no schema.org Dataset in the page's JSON-LD script blocks"
    assert rejections[1].origin.line == 2 and rejections[1].reason.startswith("invalid JSON in a JSON-LD script block")


# --- the real records ------------------------------------------------------------------


def test_real_seed_page() -> None:
    [record], rejections = read(RECORDS / "seed-page.txt")
    assert rejections == []
    description = record.data["dataset_schema"]["description"]
    assert description.startswith("Background:  Digital mental health")
    assert description.endswith("Togetherall (specifically).")
    assert record.data["extra_data"]["slug"] == (
        "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
    )
    assert "$undefined" not in json.dumps(record.data)


def test_real_jsonl_records() -> None:
    records, rejections = read(RECORDS / "harmony-samples.jsonl", RECORDS / "harmony-real.jsonl")
    assert len(records) == 42 and rejections == []
    assert all(r.provenance and r.data["dataset_schema"] is not None for r in records)


def test_real_records_directory() -> None:
    records, rejections = read(RECORDS)
    assert len(records) == 43 and rejections == []
    assert {r.format for r in records} == {"harmony", "harmony-page"}


def test_read_progress_follows_the_bytes_of_the_files_read(tmp_path):
    import gzip as gz

    from studygraph.mappings.readers import ReadProgress

    lines = [json.dumps({"dataset_schema": {"name": f"Study {n}", "description": f"{n} " * 100}}) for n in range(3000)]
    plain = tmp_path / "a.jsonl"
    plain.write_text("\n".join(lines[:2000]) + "\n", encoding="utf-8")
    zipped = tmp_path / "b.jsonl.gz"
    zipped.write_bytes(gz.compress(("\n".join(lines[2000:]) + "\n").encode()))
    progress = ReadProgress()
    seen = []
    for result in read_paths([str(plain), str(zipped)], progress=progress):
        seen.append(progress.fraction())
    assert progress.total == plain.stat().st_size + zipped.stat().st_size
    assert len(seen) == 3000 and all(f is not None for f in seen)
    assert seen == sorted(seen), "the share read never goes back"
    assert seen[0] < 0.2 and seen[1000] < seen[1999] < seen[-1] and progress.fraction() == 1.0


def test_read_progress_is_unknown_with_stdin():
    from studygraph.mappings.readers import ReadProgress

    progress = ReadProgress()
    progress.plan("-")
    assert progress.fraction() is None


def test_the_progress_line_draws_a_bar_when_the_share_is_known():
    from studygraph.cli import progress_line

    assert progress_line(1000, 2.0, None).strip() == "1,000 records  500/s"
    half = progress_line(1000, 2.0, 0.5, width=10)
    assert half.startswith("[=====>    ]  50%") and "~0m02s left" in half
    assert progress_line(2000, 4.0, 1.0, width=10).startswith("[==========] 100%")
