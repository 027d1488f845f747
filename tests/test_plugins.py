"""The embedder plug-in point: a backend named in the entry-point group ``tecurate.embedders``
joins the backend registry and is chosen by its precision, without editing tecurate; the
example plug-in of examples/ is found and used with the real model."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_frame

from tecurate import audit
from tecurate.embedding import BACKENDS, ENTRY_POINT_GROUP, load_plugins, make_embedder
from tecurate.embedding._factory import PLUGIN_ERRORS
from tecurate.errors import TecurateError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tecurate-minilm-variant"

TOY = '''
import numpy as np

class ToyEmbedder:
    name = "toy"
    identity = "toy@1"
    precision = "toy-plugin"
    dim = 3
    device = "cpu"
    calls = 0

    def encode(self, texts, batch_size):
        ToyEmbedder.calls += 1
        return np.array([[len(t), t.count("e"), t.count(" ")] for t in texts], dtype=np.float32) / 100


class ToyBackend:
    precision = "toy-plugin"
    devices = ("cpu",)

    def check(self):
        pass

    def build(self, name_or_path, *, device, store):
        return ToyEmbedder()
'''


def distribution(folder: Path, name: str, entry_points: dict[str, str]) -> None:
    """An installed distribution as pip leaves it: a ``.dist-info`` with its entry points."""
    info = folder / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    registered = set(BACKENDS.names())
    yield tmp_path
    for name in set(BACKENDS.names()) - registered:
        BACKENDS.unregister(name)
    PLUGIN_ERRORS.clear()


def test_a_plugin_registered_through_entry_points_is_found_and_used(plugin_path):
    (plugin_path / "toy_plugin.py").write_text(TOY)
    distribution(plugin_path, "toy_plugin", {"toy": "toy_plugin:ToyBackend"})
    assert load_plugins() == ("toy",)
    assert load_plugins() == ()  # once only
    embedder = make_embedder(precision="toy-plugin")
    assert (embedder.name, embedder.dim) == ("toy", 3)
    frame = make_frame(600)
    report = audit(frame, target="label", shift_col="region", min_domain_rows=100, precision="toy-plugin",
                   use_cache=False, n_configs=2, families=("logreg",), n_jobs=1).to_dict()
    assert report["embedding"]["model"] == "toy" and report["embedding"]["dim"] == 3
    assert report["embedding"]["precision"] == "toy-plugin"
    assert sys.modules["toy_plugin"].ToyEmbedder.calls > 0


def test_a_broken_plugin_is_recorded_and_named_not_fatal(plugin_path):
    (plugin_path / "bad_plugin.py").write_text("raise ImportError('no such client library')\n")
    (plugin_path / "odd_plugin.py").write_text("THING = 42\n")
    distribution(plugin_path, "bad_plugin", {"bad": "bad_plugin:Backend", "odd": "odd_plugin:THING"})
    assert load_plugins() == ()
    assert "no such client library" in PLUGIN_ERRORS["bad"]
    assert "not an embedder backend" in PLUGIN_ERRORS["odd"]
    with pytest.raises(TecurateError, match="plug-in bad did not load .*no such client library"):
        make_embedder(precision="bad-precision")


@pytest.mark.slow
def test_the_example_plugin_embeds_with_the_real_model(tmp_path):
    """The example of examples/, installed the way pip would (a dist-info on the path), selected by
    --precision on the command line of a fresh process, audits a small real table."""
    distribution(tmp_path, "tecurate_minilm_variant", {"minilm-cls128": "tecurate_minilm_variant:MiniLMVariantBackend"})
    out = tmp_path / "r.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(EXAMPLE), str(ROOT)]),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "tecurate", "audit", str(ROOT / "examples" / "credit_data.csv"), "--target",
               "Status", "--shift-col", "Home", "--max-rows", "400", "--min-domain-rows",
               "50", "--n-configs", "2", "--families", "logreg", "--no-cache", "--precision", "minilm-cls128",
               "--output", str(out), "--quiet"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1), result.stderr
    embedding = json.loads(out.read_text())["embedding"]
    assert embedding["dim"] == 128 and embedding["precision"] == "minilm-cls128"
    assert embedding["model"] == "all-MiniLM-L6-v2 (CLS, 128 dims)"
    assert embedding["identity"].startswith("minilm-cls128@1:")
    wrong = subprocess.run([*command[:4], "x.csv", "-t", "y", "--precision", "bogus"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert wrong.returncode == 2 and "minilm-cls128" in wrong.stderr  # a --precision choice like the built-ins
