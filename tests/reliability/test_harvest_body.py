"""Response bodies are decompressed as they stream and cut at the size limit."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest

from studygraph.harvest.body import TooLarge, parse_size, read_body
from studygraph.harvest.errors import HarvestError

TEXT = b"<a> <b> <c> .\n" * 1000


def deflated(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        (None, TEXT),
        ("identity", TEXT),
        ("gzip", gzip.compress(TEXT)),
        ("GZIP", gzip.compress(TEXT[:5000]) + gzip.compress(TEXT[5000:])),  # concatenated members
        ("deflate", deflated(TEXT, 15)),  # zlib-wrapped, as the RFC says
        ("deflate", deflated(TEXT, -15)),  # raw, as some servers send it
        (None, gzip.compress(TEXT)),  # a .gz document
        ("gzip", gzip.compress(gzip.compress(TEXT))),  # a .gz document sent gzipped
    ],
)
def test_bodies_come_out_decompressed(encoding, body):
    assert read_body(io.BytesIO(body), "http://a.example/x", len(TEXT), encoding) == TEXT


@pytest.mark.parametrize("encoding", [None, "gzip", "deflate"])
def test_a_body_one_byte_over_the_limit_is_cut(encoding):
    body = {None: TEXT, "gzip": gzip.compress(TEXT), "deflate": deflated(TEXT, 15)}[encoding]
    with pytest.raises(TooLarge, match=r"http://a.example/x: larger than 13999 bytes"):
        read_body(io.BytesIO(body), "http://a.example/x", len(TEXT) - 1, encoding)


def test_gzip_inside_gzip_is_taken_off_a_few_times_only():
    body = TEXT
    for _ in range(4):
        body = gzip.compress(body)
    with pytest.raises(HarvestError, match="gzip inside gzip more than 3 times"):
        read_body(io.BytesIO(body), "http://a.example/x", 1 << 20, None)


def test_corrupt_gzip_is_one_line():
    with pytest.raises(HarvestError, match=r"^http://a.example/x: the gzip data is corrupt \("):
        read_body(io.BytesIO(b"\x1f\x8b\x08\x00garbage-garbage-garbage"), "http://a.example/x", 1 << 20, "gzip")


@pytest.mark.parametrize(("text", "size"), [("1048576", 1 << 20), ("512K", 512 << 10), ("256M", 256 << 20), ("1G", 1 << 30), ("1.5MiB", 3 << 19), ("2kb", 2048)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "0", "-1M"])
def test_not_sizes(text):
    with pytest.raises(ValueError):
        parse_size(text)
