"""gzip: the compressed file holds exactly the plain output; refused for zip formats."""

from __future__ import annotations

import gzip

import pytest

from pstt_core import ConfigError
from tests.sinks_fs.conftest import FsHome


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_gzip_decompresses_to_the_plain_output(fs: FsHome, fmt: str) -> None:
    fs.schedule("plain", format=fmt, filename="plain.{ext}", encoding="utf-8-sig", batch_size=64)
    fs.schedule("packed", format=fmt, filename="packed.{ext}", gzip=True, encoding="utf-8-sig",
                batch_size=64)
    plain, packed = fs.run("plain"), fs.run("packed")
    assert packed.extra["path"] == f"packed.{fmt}.gz"
    raw = (fs.exports / f"packed.{fmt}.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw) == fs.path(plain).read_bytes()
    assert packed.extra["file_bytes"] == len(raw) < plain.extra["file_bytes"]
    with gzip.open(fs.exports / f"packed.{fmt}.gz") as fh:
        assert fh.read() == fs.path(plain).read_bytes()


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_gzip_is_refused_for_compressed_formats(fs: FsHome, fmt: str) -> None:
    with pytest.raises(ConfigError, match="already compressed") as err:
        fs.schedule(format=fmt, gzip=True)
    assert err.value.path == "$.sink_options.gzip"


def test_failed_gzip_run_leaves_nothing(fs: FsHome) -> None:
    fs.schedule(gzip=True, filename="x.csv", batch_size=100,
                query="SELECT id, CASE WHEN id > 250 THEN abs(-9223372036854775807 - 1) END "
                      "FROM orders ORDER BY id")
    assert fs.run().status == "failed"
    assert fs.files() == []
