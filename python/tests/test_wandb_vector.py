"""The Python forwarder is held to the one mapping, packages/wandb-adapter's, through the shared vector
test/vectors/wandb.json: each case's records go through a real `WandbForwarder` into a real offline W&B run, and
the rows W&B stored are the vector's; each alert case's title and text are the vector's."""

import json

import pytest

from conftest import VECTORS
from sparselab_profiler.records import EventRecord, Histogram, LayerSample, SampleRecord
from sparselab_profiler.wandb_forward import WandbForwarder, alert_text, alert_title, rest_alert
from wandb_offline import history_rows, offline, wandb  # noqa: F401 - offline is a fixture

VECTOR = json.loads((VECTORS / "wandb.json").read_text())


def record(data: dict):
    """A vector record as the callback holds it (run and end records play no part in forwarding)."""
    fields = {k: v for k, v in data.items() if k != "type"}
    if data["type"] == "sample":
        fields["layers"] = [LayerSample(**{**layer, "hist": Histogram(**layer["hist"])}) for layer in data["layers"]]
        return SampleRecord(**fields)
    if data["type"] == "event":
        return EventRecord(**fields)
    return None


def histograms_nested(row: dict) -> dict:
    """The run file keeps a histogram as its parts (`<key>/_type`, `/values`, `/bins`); the row W&B serves
    (and the vector) holds it as one object under `<key>`."""
    nested: dict = {}
    for key, value in row.items():
        head, _, part = key.rpartition("/")
        if part in ("_type", "values", "bins") and f"{head}/_type" in row:
            nested.setdefault(head, {})[part] = value
        else:
            nested[key] = value
    return nested


@pytest.mark.parametrize("case", VECTOR["cases"], ids=[case["name"] for case in VECTOR["cases"]])
def test_the_rows_w_and_b_stores_are_the_vectors(offline, case):
    run = wandb.init(project="vector", name="vector")
    forwarder = WandbForwarder(run, every=case["every"], max_layers=case["max_layers"])
    for data in case["records"]:
        item = record(data)
        if isinstance(item, EventRecord):
            forwarder.add_event(item)
        elif isinstance(item, SampleRecord):
            forwarder.forward(item)
    run.finish()  # the user never logged: every row is committed at finish, one each
    rows = [{k: v for k, v in row.items() if k.startswith("sparselab/")} for row in history_rows(run)]
    # exact equality: an edge off by one ulp fails (JSON has one kind of number, so 0 equals 0.0)
    assert [histograms_nested(row) for row in rows if row] == case["rows"]


@pytest.mark.parametrize("case", VECTOR["alerts"], ids=[case["title"] for case in VECTOR["alerts"]])
def test_alert_titles_and_texts_are_the_vectors(case):
    assert (alert_title(case["flag"]), alert_text(case["flag"])) == (case["title"], case["text"])


@pytest.mark.parametrize("case", VECTOR["rest_alerts"], ids=[case["title"] for case in VECTOR["rest_alerts"]])
def test_the_alert_for_the_critical_flags_past_the_limit_is_the_vectors(case):
    assert rest_alert(case["flags"]) == (case["title"], case["text"])
