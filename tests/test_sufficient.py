"""One-pass sufficient statistics (psychometrics.data.sufficient) and the Dask path.

References: independent direct computations (pandas cov/corr with pairwise deletion,
numpy on the complete rows, pd.crosstab, value_counts). The Dask tests check that the
statistics from a partitioned Parquet dataset equal the in-memory ones to 1e-10 relative,
on the local scheduler and on a real cluster (``dask scheduler`` + two ``dask worker``
processes on 127.0.0.1 started here, one of them killed mid-run).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.data.sufficient import parquet_files, sufficient_stats, sufficient_stats_dask
from psychometrics.exceptions import DataError

ITEMS = [f"i{k}" for k in range(6)]
CATS = [1, 2, 3, 4, 5]


def _data(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 1)) + 0.8 * rng.standard_normal((n, len(ITEMS)))
    x = np.clip(np.round(z + 3), 1, 5)
    x[rng.random(x.shape) < 0.05] = np.nan
    df = pd.DataFrame(x, columns=ITEMS)
    df["grp"] = rng.choice(["a", "b", "c"], n)
    return df


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.nanmax(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def test_moments_tables_against_direct():
    df = _data()
    st = sufficient_stats(df, ITEMS, CATS, group="grp", chunk_rows=700)  # several chunks per group
    assert set(st.groups) == {"a", "b", "c"} and st.n == len(df)
    for g, sub in df.groupby("grp"):
        x = sub[ITEMS]
        assert np.allclose(st.covariance(g).to_numpy(), x.cov().to_numpy(), rtol=1e-12, atol=1e-14)
        assert np.allclose(st.covariance(g, kind="cor").to_numpy(), x.corr().to_numpy(), rtol=1e-12, atol=1e-14)
        gs = st.groups[g]
        cc = x.dropna()
        mean, cov = gs.listwise_cov()
        assert gs.complete == len(cc)
        assert np.allclose(mean, cc.mean().to_numpy(), rtol=1e-13)
        assert np.allclose(cov, cc.cov().to_numpy(), rtol=1e-12, atol=1e-14)
        for a, b in ((0, 1), (2, 5), (4, 3)):
            tab = pd.crosstab(x[ITEMS[a]], x[ITEMS[b]]).reindex(index=CATS, columns=CATS, fill_value=0)
            assert np.array_equal(gs.tables[a, b], tab.to_numpy())
            ctab = pd.crosstab(cc[ITEMS[a]], cc[ITEMS[b]]).reindex(index=CATS, columns=CATS, fill_value=0)
            assert np.array_equal(gs.cc_tables[a, b], ctab.to_numpy())
        counts = x.apply(lambda c: c.value_counts()).reindex(CATS).fillna(0).T.to_numpy()
        assert np.array_equal(gs.cat_counts, counts)
        assert np.array_equal(gs.n_obs, x.notna().sum().to_numpy())
    # the total is the sum of the groups, and equals the ungrouped statistics
    whole = sufficient_stats(df, ITEMS, CATS)
    assert np.array_equal(whole.total.tables, st.total.tables)
    assert _rel(whole.total.cross, st.total.cross) == 0.0
    assert np.allclose(st.covariance().to_numpy(), df[ITEMS].cov().to_numpy(), rtol=1e-12)


def test_pattern_moments_against_direct():
    """Per-pattern rows, means and ML covariances equal a direct groupby over the observed masks."""
    df = _data(2000)
    st = sufficient_stats(df, ITEMS, CATS, group="grp", chunk_rows=333, patterns=True)
    assert not sufficient_stats(df, ITEMS, CATS, group="grp").total.patterns  # off by default
    for g, sub in df.groupby("grp"):
        x = sub[ITEMS].to_numpy()
        obs = ~np.isnan(x)
        moments = st.groups[g].pattern_moments(include_empty=True)
        assert sum(m[1] for m in moments) == len(sub)
        assert [m[1] for m in moments] == sorted((m[1] for m in moments), reverse=True)
        for observed, n, mean, cov in moments:
            rows = x[(obs == observed).all(axis=1)][:, observed]
            assert n == len(rows)
            np.testing.assert_allclose(mean, rows.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(cov, np.cov(rows.T, bias=True).reshape(cov.shape), rtol=1e-10, atol=1e-12)


def test_chunking_does_not_change_numbers():
    df = _data(1000)
    a = sufficient_stats(df, ITEMS, CATS, group="grp", chunk_rows=97)
    b = sufficient_stats(df, ITEMS, CATS, group="grp", chunk_rows=100_000)
    for g in a.groups:
        for f in ("cross", "pair_sum", "pair_sq", "pair_n", "tables", "cc_cross"):
            assert np.array_equal(getattr(a.groups[g], f), getattr(b.groups[g], f))


def test_out_of_range_and_non_category_counted():
    df = _data(200)
    df.loc[0, "i0"] = 7
    df.loc[1, "i0"] = 2.5
    df.loc[2, "i1"] = 0
    st = sufficient_stats(df, ITEMS, CATS)
    assert st.total.out_of_range.tolist() == [1, 1, 0, 0, 0, 0]
    assert st.total.not_category.tolist() == [1, 0, 0, 0, 0, 0]


def test_missing_column_is_a_data_error():
    with pytest.raises(DataError, match="columns not in the data: nope"):
        sufficient_stats(_data(50), ["nope"], CATS)


def _write_parts(df: pd.DataFrame, folder: Path, parts: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, chunk in enumerate(np.array_split(np.arange(len(df)), parts)):
        df.iloc[chunk].to_parquet(folder / f"part-{k:03d}.parquet", index=False)


def _assert_same(a, b) -> None:
    assert set(a.groups) == set(b.groups)
    for g in a.groups:
        ga, gb = a.groups[g], b.groups[g]
        assert ga.n == gb.n and ga.complete == gb.complete
        for f in ("n_obs", "pair_n", "pair_sum", "pair_sq", "cross", "cc_sum", "cc_cross", "cat_counts", "tables",
                  "cc_tables"):
            assert _rel(getattr(ga, f), getattr(gb, f)) <= 1e-10, f
        assert _rel(a.covariance(g).to_numpy(), b.covariance(g).to_numpy()) <= 1e-10
        assert set(ga.patterns) == set(gb.patterns)
        for k, pa in ga.patterns.items():
            pb = gb.patterns[k]
            assert pa.n == pb.n and np.array_equal(pa.observed, pb.observed)
            assert _rel(pa.total, pb.total) <= 1e-10 and _rel(pa.cross, pb.cross) <= 1e-10


def test_dask_local_equals_in_memory(tmp_path):
    df = _data(2500)
    _write_parts(df, tmp_path / "ds", 5)
    mem = sufficient_stats(df, ITEMS, CATS, group="grp", patterns=True)
    for source in (tmp_path / "ds", str(tmp_path / "ds" / "part-*.parquet")):
        _assert_same(sufficient_stats_dask(source, ITEMS, CATS, group="grp", chunk_rows=300, patterns=True), mem)


def test_parquet_files_errors(tmp_path):
    with pytest.raises(DataError, match="No Parquet files found"):
        parquet_files(tmp_path)
    df = _data(100)
    _write_parts(df, tmp_path / "ds", 2)
    with pytest.raises(DataError, match="columns not in the Parquet schema: zz"):
        sufficient_stats_dask(tmp_path / "ds", ["zz"], CATS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)


def _wait_workers(address: str, k: int, timeout: float = 60.0) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as c:
        c.wait_for_workers(k, timeout=timeout)


@pytest.fixture
def cluster(tmp_path):
    """A real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (free ports); stopped after."""
    pytest.importorskip("distributed")
    port, dash = _free_port(), _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--dashboard-address", f"127.0.0.1:{dash}"], tmp_path / "scheduler.log")]
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError((tmp_path / "scheduler.log").read_text()) from None
                time.sleep(0.2)
        for k in range(2):
            procs.append(_start(["distributed.cli.dask_worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                 "--nworkers", "1", "--no-dashboard", "--name", f"w{k}"], tmp_path / f"worker{k}.log"))
        _wait_workers(address, 2)
        yield address, procs
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_dask_cluster_equals_in_memory_and_survives_a_lost_worker(tmp_path, cluster, monkeypatch):
    address, procs = cluster
    df = _data(4000)
    _write_parts(df, tmp_path / "ds", 16)
    mem = sufficient_stats(df, ITEMS, CATS, group="grp")
    _assert_same(sufficient_stats_dask(tmp_path / "ds", ITEMS, CATS, group="grp", scheduler=address), mem)
    # DASK_SCHEDULER_ADDRESS is used when no address is given; a worker killed mid-run:
    # its tasks are recomputed on the other worker and the result is unchanged.
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    import threading

    killed_at: list[float] = []

    def kill_soon() -> None:
        time.sleep(1.0)
        os.killpg(procs[1].pid, signal.SIGKILL)
        killed_at.append(time.perf_counter())

    killer = threading.Thread(target=kill_soon)
    killer.start()
    out = sufficient_stats_dask(tmp_path / "ds", ITEMS, CATS, group="grp", chunk_rows=2)  # slow: many tiny chunks
    done_at = time.perf_counter()
    killer.join()
    assert procs[1].poll() is not None  # the worker is gone …
    assert killed_at[0] < done_at  # … and it was killed while the statistics were being computed
    _assert_same(out, mem)
