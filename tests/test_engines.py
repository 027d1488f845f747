"""The engines: local (this process) and Ray (a cluster), which must give the same report.

The Ray tests start real Ray clusters on 127.0.0.1 (conftest.py sets Ray's environment first) and
always shut them down; they use the real packaged model on the real credit_data example.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import NumbersEmbedder
from typer.testing import CliRunner

import tecurate.embedding._embed as embed_module
import tecurate.engines
from tecurate import audit
from tecurate.cli import app
from tecurate.engines import ENGINES

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "credit_data.csv"
SMALL = dict(target="Status", shift_col="Home", min_domain_rows=60, max_rows=300, families=("logreg", "xgboost"),
             n_configs=2)
CHUNK = 64
"""Texts per chunk in the Ray tests (512 by default), so 300 rows make five chunks for two nodes."""


def comparable(report) -> dict:
    """The report without what may differ between engines: the engine, timings, the cache folder."""
    data = report.to_dict()
    for key in ("created_at", "timings", "engine"):
        data.pop(key)
    for key in ("engine", "ray_address", "cache_dir"):
        data["config"].pop(key)
    for key in ("seconds", "cache_dir"):
        data["embedding"].pop(key)
    for model in data["models"]:
        model.pop("fit_seconds")
    return data


def test_public_api_is_exactly_all():
    assert set(tecurate.engines.__all__) == {"ENGINES", "BuildEmbedder", "Engine", "EngineRecord", "Session",
                                             "machine_cpus", "open_engine"}
    assert ENGINES.names() == ("local", "ray")


def test_the_local_engine_records_itself(table):
    report = audit(str(table), target="label", shift_col="region", min_domain_rows=100, families="logreg",
                   n_configs=2, use_cache=False, embedder=NumbersEmbedder())
    assert report.to_dict()["engine"] == {"name": "local", "version": None, "address": "local", "nodes": 1,
                                          "cpus": len(os.sched_getaffinity(0)), "gpus": 0, "actors": 0, "actor_nodes": 0,
                                          "tasks": 0}
    assert report.config["engine"] == "local" and report.config["ray_address"] is None


def test_engine_ray_without_ray_is_exit_2_naming_the_extra_before_reading(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where it is not installed
    for command in ("audit", "embed"):
        args = [command, str(tmp_path / "absent.csv"), "--target", "y", "--engine", "ray"]
        result = CliRunner().invoke(app, args + (["--output", str(tmp_path / "v.npy")] if command == "embed" else []))
        assert result.exit_code == 2, result.output
        assert "pip install 'tecurate[ray]'" in result.stderr and "absent" not in result.stderr


def test_unknown_engine_and_an_address_without_ray_are_usage_errors(table):
    result = CliRunner().invoke(app, ["audit", str(table), "--target", "label", "--engine", "spark"])
    assert result.exit_code == 2 and "--engine must be local or ray" in result.stderr
    result = CliRunner().invoke(app, ["audit", str(table), "--target", "label", "--ray-address", "127.0.0.1:1"])
    assert result.exit_code == 2 and "--ray-address needs --engine ray" in result.stderr


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_embed_streams_windows_into_npy_or_parquet(fake_embedder, table, tmp_path, monkeypatch, suffix):
    import tecurate.pipeline

    args = ["embed", str(table), "--target", "label", "--no-cache"]
    whole = tmp_path / "whole.npy"
    assert CliRunner().invoke(app, [*args, "--output", str(whole)]).exit_code == 0
    monkeypatch.setattr(tecurate.pipeline, "EMBED_WINDOW", 7)  # 600 rows: 86 windows, the last one short
    out = tmp_path / f"windows{suffix}"
    result = CliRunner().invoke(app, [*args, "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "embedded 600 rows" in result.stderr
    if suffix == ".npy":
        vectors = np.load(out, allow_pickle=False)
    else:
        data = pq.read_table(out)
        assert data.column_names == ["row_id", "vector"]
        assert data.column("row_id").to_pylist() == list(range(600))
        vectors = np.stack(data.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32)
        assert data.schema.field("vector").type.list_size == 4
    np.testing.assert_array_equal(vectors, np.load(whole))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["table.csv", "whole.npy", out.name])


def test_embed_that_fails_midway_leaves_no_file(table, tmp_path, monkeypatch):
    from conftest import FakeBackend, backends_for_every_precision

    import tecurate.pipeline

    class Failing(NumbersEmbedder):
        calls = 0

        def encode(self, texts, batch_size):
            Failing.calls += 1
            if Failing.calls > 2:
                raise RuntimeError("the embedder broke")
            return super().encode(texts, batch_size)

    monkeypatch.setattr(tecurate.pipeline, "EMBED_WINDOW", 100)
    out = tmp_path / "v.parquet"
    with backends_for_every_precision(lambda precision: FakeBackend(precision, Failing)):
        result = CliRunner().invoke(app, ["embed", str(table), "--target", "label", "--no-cache", "--output", str(out)])
    assert result.exit_code == 3
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"], "no output, not even a temporary file"


def test_embed_output_must_be_npy_or_parquet(table, tmp_path):
    result = CliRunner().invoke(app, ["embed", str(table), "--target", "label", "--output", str(tmp_path / "v.csv")])
    assert result.exit_code == 2 and "must end in .npy (a float32 matrix) or .parquet" in result.stderr


# -- Ray ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_chunks() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embed_module, "TEXTS_PER_CALL", CHUNK)
        yield


@pytest.fixture(scope="module")
def local_report(small_chunks, tmp_path_factory):
    pytest.importorskip("ray")
    return audit(str(EXAMPLE), **SMALL, cache_dir=str(tmp_path_factory.mktemp("local-cache")))


@pytest.fixture
def no_ray_left() -> Iterator[None]:
    """Whatever a test started, Ray is shut down after it."""
    import ray

    try:
        yield
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_ray_on_a_local_cluster_gives_the_local_report_and_a_warm_run_never_starts_it(
        local_report, no_ray_left, tmp_path, monkeypatch):
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    cold = audit(str(EXAMPLE), **SMALL, engine="ray", cache_dir=str(tmp_path))
    assert not ray.is_initialized(), "the Ray started for the audit is shut down after it"
    assert comparable(cold) == comparable(local_report)
    engine = cold.to_dict()["engine"]
    assert engine["name"] == "ray" and engine["version"] == ray.__version__ and engine["address"] == "local"
    assert engine["nodes"] == 1 and engine["cpus"] == len(os.sched_getaffinity(0)) and engine["gpus"] == 0
    assert engine["actors"] >= 1 and engine["tasks"] == len(cold.models)

    warm = audit(str(EXAMPLE), **SMALL, engine="ray", cache_dir=str(tmp_path))
    assert warm.embedding.cache_hits == warm.embedding.n_unique_texts and all(m.cached for m in warm.models)
    assert warm.to_dict()["engine"]["nodes"] == 0, "everything was cached: no Ray was started"
    assert [m.splits for m in warm.models] == [m.splits for m in cold.models]


@pytest.fixture
def two_nodes(no_ray_left) -> Iterator[str]:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args=dict(num_cpus=1, node_ip_address="127.0.0.1",
                                                                 include_dashboard=False))
    try:
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        cluster.shutdown()


@pytest.mark.slow
def test_a_two_node_cluster_embeds_on_both_nodes_and_gives_the_local_report(local_report, two_nodes):
    import ray

    report = audit(str(EXAMPLE), **SMALL, engine="ray", ray_address=two_nodes, use_cache=False)
    assert not ray.is_initialized(), "the driver disconnects from an existing cluster after the audit"
    engine = report.to_dict()["engine"]
    assert engine["address"] == "existing" and engine["nodes"] == 2 and engine["cpus"] == 2
    assert engine["actors"] == 2 and engine["actor_nodes"] == 2, engine
    expected = comparable(local_report)
    got = comparable(report)
    for record in (expected, got):  # --no-cache here: the counts of cache hits aside
        record["config"].pop("use_cache")
    assert got == expected


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def ray_head() -> Iterator[str]:
    """A cluster started as users start one (``ray start --head``), stopped by its process group."""
    pytest.importorskip("ray")
    port = _free_port()
    binary = shutil.which("ray", path=str(Path(sys.executable).parent))
    assert binary is not None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    head = subprocess.Popen([binary, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
                             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        time.sleep(2)
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


@pytest.mark.slow
def test_embed_on_an_existing_cluster_from_ray_address_writes_the_local_vectors(ray_head, tmp_path, monkeypatch):
    import pandas as pd

    small = tmp_path / "credit-200.csv"
    pd.read_csv(EXAMPLE).head(200).to_csv(small, index=False)
    args = ["embed", str(small), "--target", "Status", "--shift-col", "Home", "--no-cache"]
    local = tmp_path / "local.npy"
    assert CliRunner().invoke(app, [*args, "--output", str(local)]).exit_code == 0
    monkeypatch.setenv("RAY_ADDRESS", ray_head)
    out = tmp_path / "ray.parquet"
    result = CliRunner().invoke(app, [*args, "--engine", "ray", "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    data = pq.read_table(out)
    vectors = np.stack(data.column("vector").to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(vectors, np.load(local))


@pytest.mark.slow
def test_a_ray_started_by_the_command_runs_its_workers_at_the_commands_priority(no_ray_left, monkeypatch):
    """Ray's own default adds 15 to its workers' niceness; the engine's local Ray adds none."""
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    if mine > 19 - 15:
        pytest.skip(f"at niceness {mine} Ray's default (+15, capped at 19) cannot be told from none")
    with ENGINES["ray"].session({}) as session:
        ray_module = session._connect()
        worker = ray_module.get(ray_module.remote(num_cpus=0.5)(lambda: os.getpriority(os.PRIO_PROCESS, 0)).remote())
    assert worker == mine and not ray.is_initialized()


@pytest.mark.slow
def test_an_embedding_actor_encodes_on_its_threads_not_on_its_cpu_request(no_ray_left, monkeypatch):
    """Ray sets OMP_NUM_THREADS to an actor's CPU request, half the threads it is given: the
    torch-free encoders read it, and ran one thread where the local engine runs two. Setting it
    imports no torch (a torch loaded later reads the variable)."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    def threads_seen_by_the_embedder() -> tuple[str | None, int, tuple[bool, bool]]:
        from tecurate.embedding._onnx_fast import cpu_threads
        from tecurate.engines._ray import EmbedActor

        before = os.environ.get("OMP_NUM_THREADS")
        torch_before = "torch" in sys.modules
        seen: list[int] = []

        class Probe:
            identity, dim = "probe", 1

        def build(device: str) -> Probe:
            seen.append(cpu_threads())
            return Probe()

        EmbedActor(build, "cpu", "probe", 1, 8, 2)
        return before, seen[0], (torch_before, "torch" in sys.modules)

    with ENGINES["ray"].session({}) as session:
        ray_module = session._connect()
        before, seen, torch_loaded = ray_module.get(
            ray_module.remote(num_cpus=1)(threads_seen_by_the_embedder).remote())
    assert before == "1", "Ray gives the worker its CPU request as OMP_NUM_THREADS"
    assert seen == 2
    assert torch_loaded == (False, False), "an actor whose embedder needs no torch does not import it"
