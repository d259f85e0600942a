"""The warehouse benchmark's generator (benchmarks/warehouse_gen.py) writes the wide tables
directly, chunk by chunk in partition order: they must be what ``wide.rebuild`` makes of the
same cells and reports, row for row and file for file."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from benchmarks import warehouse_gen
from benchmarks.warehouse_gen import YEARS, build, partition_chunks
from warehouse import data_files, wide
from warehouse.agencies import AgencyResolver, load_registry
from warehouse.agencies_load import identify
from warehouse.schema import WIDE
from warehouse.store import Warehouse

pytestmark = pytest.mark.slow  # (the module's warehouse, built and rebuilt: ~10 s)
REPORTS = 600
FILE_ROWS = 8  # (a partition of several files: where they are cut is compared too)


def layout(warehouse: Warehouse, table: str) -> dict[tuple[int, tuple[str, ...]], int]:
    """Each file of ``table`` as (its partition, its report_ids in order) -> its rows."""
    files = {}
    for path, part in warehouse.files(table):
        ids = tuple(pq.read_table(path, columns=["report_id"])["report_id"].to_pylist())
        files[int(part["agency_bucket"]), ids] = len(ids)
    return files


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A generated warehouse (chunks of one agency, so partitions are built in several chunks)
    and, from its cells and reports, the wide tables ``wide.rebuild`` writes."""
    root = tmp_path_factory.mktemp("generated")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data_files, "FILE_ROWS", FILE_ROWS)
        stats = build(root, REPORTS, chunk=len(YEARS), progress=False)
        warehouse = Warehouse(root)
        generated = {t.name: (warehouse.read(t.name), layout(warehouse, t.name)) for t in WIDE}
        with warehouse.transaction("rebuild") as tx:
            wide.rebuild(tx, warehouse.read("reports"), warehouse.read("agencies"))
        rebuilt = {t.name: (warehouse.read(t.name), layout(warehouse, t.name)) for t in WIDE}
    return stats, warehouse, generated, rebuilt


@pytest.mark.parametrize("table", [t.name for t in WIDE])
def test_wide_rows_equal_rebuild(built, table):
    _, _, generated, rebuilt = built
    mine, theirs = generated[table][0], rebuilt[table][0]
    assert mine.num_rows == theirs.num_rows == REPORTS
    assert mine.schema == theirs.schema
    mine, theirs = mine.sort_by("report_id"), theirs.sort_by("report_id")
    for name in mine.column_names:
        assert mine[name].equals(theirs[name]), name
    numbers = [n for n in mine.column_names if "__" in n]
    assert sum(mine[n].null_count for n in numbers) > 0  # blank cells stay null
    assert pc.max(mine[numbers[0]]).as_py() > 0


@pytest.mark.parametrize("table", [t.name for t in WIDE])
def test_files_cut_and_placed_as_rebuild(built, table):
    """Every file in the partition its agency hashes to, sorted, at most FILE_ROWS rows, and
    the same files (partition, rows in order) as ``wide.rebuild``."""
    _, warehouse, generated, rebuilt = built
    files = generated[table][1]
    assert files == rebuilt[table][1]
    assert max(files.values()) == FILE_ROWS and len({b for b, _ in files}) > 20
    for path, part in warehouse.files(table):
        rows = pq.read_table(path, columns=["agency_id", "agency_key", "agency_of", "year"])
        assert rows.num_rows <= FILE_ROWS
        assert rows["agency_of"].equals(wide.agency_of(rows))
        assert set(wide.buckets(rows["agency_of"]).to_pylist()) == {int(part["agency_bucket"])}
        order = rows.append_column("agency_bucket", pa.nulls(rows.num_rows, pa.int64()))
        assert wide._sorted(order).drop_columns(["agency_bucket"]).equals(rows)


def test_agency_ids_are_the_loads(built):
    """The reports carry the agency_id a load gives them (some names resolve, most not)."""
    _, warehouse, _, _ = built
    reports = warehouse.read("reports")
    again, _ = identify(reports, AgencyResolver())
    assert again["agency_id"].equals(reports["agency_id"])
    assert 0 < reports["agency_id"].null_count < reports.num_rows
    agencies = set(warehouse.read("agencies")["agency_id"].to_pylist())
    assert set(pc.drop_null(reports["agency_id"]).to_pylist()) <= agencies


def test_generator_sums_and_cells(built):
    """The sums the benchmark checks its queries against are the warehouse's."""
    stats, warehouse, _, _ = built
    reports = warehouse.read("reports")
    cells = warehouse.read("cells", columns=["report_id", "table", "row", "col", "value"])
    assert stats["cells"] == cells.num_rows and 200 * REPORTS < cells.num_rows < 226 * REPORTS
    new = cells.filter(pc.and_(pc.equal(cells["row"], "new"), pc.equal(cells["col"], "total")))
    joined = new.join(reports.select(["report_id", "year", "region"]), "report_id")
    sums = np.zeros((len(YEARS), len(warehouse_gen.PROVINCES)))
    regions = list(warehouse_gen.PROVINCES)
    for r in joined.to_pylist():
        sums[r["year"] - YEARS[0], regions.index(r["region"])] += r["value"] or 0
    assert np.allclose(sums, stats["expected"]) and sums.sum() > 0


def test_chunks_follow_partitions():
    """Chunks hold whole agencies of one partition, in the wide tables' order."""
    ids = pa.array([None] * 50, pa.string())
    chunks = list(partition_chunks(ids, 3))
    names = warehouse_gen.agency_names(np.arange(50))[0]
    buckets = wide.buckets(names).to_numpy()
    assert sorted(np.concatenate(chunks).tolist()) == list(range(50))
    assert all(len(set(buckets[c])) == 1 and len(c) <= 3 for c in chunks)
    flat = np.concatenate(chunks)
    assert list(buckets[flat]) == sorted(buckets[flat])


def test_agency_split_by_years_is_refused(tmp_path):
    """A registry alias that names a synthetic agency in some years only would put its wide
    rows in two partitions: the generator says so instead of writing them out of order."""
    registry = tmp_path / "agencies.yaml"
    registry.write_text(
        "- agency_id: 110000-dept-split\n  name: 北京市某局\n  kind: department\n"
        "  division_code: '110000'\n  who: test\n  why: a split\n  source: test\n"
        f"  aliases:\n  - name: {warehouse_gen.agency_names(np.array([2]))[0][0]}\n"
        "    until: 2020\n", encoding="utf-8")
    with pytest.raises(warehouse_gen.GeneratorError, match="different agency_ids"):
        warehouse_gen.identities(10, load_registry(registry))
    ids, resolved = warehouse_gen.identities(10, load_registry(tmp_path / "none.yaml"))
    assert ids[2].as_py() == "110000-dept-第1县发展和改革局"
    assert resolved.num_rows == len(ids) - ids.null_count


def test_a_failing_writer_stops_the_build():
    """A writer that fails stops the producer with its error, and the other writers end."""
    got = []

    def fails(stream):
        next(stream)
        raise OSError("disk full")

    fanout = warehouse_gen.Fanout({"ok": lambda s: got.extend(s), "bad": fails}, depth=1)
    with pytest.raises(OSError, match="disk full"):
        for n in range(100):
            fanout.put("ok", n)
            fanout.put("bad", n)
    assert len(got) < 100 and not any(t.is_alive() for t in fanout.threads)
