import inspect
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import read_log
from sparselab_profiler import SparsityProfilerCallback
from wire_schema import validate_record


def dense_model_with_zeros() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Unflatten(1, (1, 8)), nn.Conv1d(1, 4, 3), nn.Flatten(),
                          nn.Linear(4 * 6, 3))
    with torch.no_grad():
        model[0].weight[:, ::2] = 0  # half the columns pruned by hand
    return model


def test_dense_weights_use_zeros_as_an_inferred_mask(tmp_path):
    model = dense_model_with_zeros()
    with SparsityProfilerCallback(logdir=tmp_path, server=None) as profiler:
        profiler.attach(model)
    records = read_log(profiler.log_path)
    assert [(l["name"], l["format"], l["mask_source"]) for l in records[0]["layers"]] == [
        ("0", "dense", "inferred_zeros"), ("3", "dense", "inferred_zeros"), ("5", "dense", "inferred_zeros")]
    first = records[1]["layers"][0]
    assert first["nnz"] == 64 and first["numel"] == 128 and first["sparsity"] == 0.5
    assert first["bytes"] == first["dense_bytes"] == 128 * 4
    assert sum(first["hist"]["counts"]) == 64


def test_layer_regex_selects_modules_by_name(tmp_path):
    with SparsityProfilerCallback(logdir=tmp_path, server=None, layer_regex=r"^[05]$") as profiler:
        profiler.attach(dense_model_with_zeros())
    assert [l["name"] for l in read_log(profiler.log_path)[0]["layers"]] == ["0", "5"]


def train(model: nn.Module, steps: int, profiler=None) -> float:
    torch.manual_seed(1)
    x = torch.randn(32, 16)
    y = torch.randint(0, 3, (32,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if profiler:
            profiler.step()
    return loss.item()


def test_run_log_is_a_gap_free_valid_sequence(tmp_path):
    model = dense_model_with_zeros()
    with SparsityProfilerCallback(every=4, logdir=tmp_path, server=None, overhead_budget=None) as profiler:
        profiler.attach(model)
        train(model, 10, profiler)
    records = read_log(profiler.log_path)
    assert [r["seq"] for r in records] == list(range(len(records)))
    assert [r["type"] for r in records if r["type"] != "event"] == ["run", "sample", "sample", "sample", "sample", "end"]
    assert [r["step"] for r in records if r["type"] == "sample"] == [0, 4, 8, 10]
    assert records[-1]["status"] == "finished"
    for record in records:
        validate_record(record)


def test_an_exception_in_training_ends_the_run_as_crashed(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with SparsityProfilerCallback(logdir=tmp_path, server=None) as profiler:
            profiler.attach(dense_model_with_zeros())
            1 / 0
    assert read_log(profiler.log_path)[-1]["status"] == "crashed"


def test_an_internal_error_disables_the_profiler_and_training_is_unchanged(tmp_path, monkeypatch):
    expected_loss = train(dense_model_with_zeros(), 12)

    model = dense_model_with_zeros()
    profiler = SparsityProfilerCallback(every=2, logdir=tmp_path, server=None).attach(model)
    source = profiler._sources[0]
    monkeypatch.setattr(source, "stored_values", lambda workspace=None: (_ for _ in ()).throw(RuntimeError("boom")))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss = train(model, 12, profiler)
        profiler.close()
    assert loss == expected_loss
    warned = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    messages = [str(w.message) for w in warned]
    assert len(messages) == 1 and "disabled itself" in messages[0] and "boom" in messages[0]
    lines, first = inspect.getsourcelines(train)
    step_call = first + next(i for i, line in enumerate(lines) if "profiler.step()" in line)
    assert (warned[0].filename, warned[0].lineno) == (__file__, step_call)  # the user's call, in train() above
    assert [r["type"] for r in read_log(profiler.log_path)] == ["run", "sample"]


def test_the_sampler_widens_the_interval_over_budget_and_records_it(tmp_path):
    model = dense_model_with_zeros()
    # Any measurable cost exceeds a budget of 1e-9, so after three samples the interval must widen.
    with SparsityProfilerCallback(every=1, logdir=tmp_path, server=None, overhead_budget=1e-9) as profiler:
        profiler.attach(model)
        train(model, 20, profiler)
    records = read_log(profiler.log_path)
    changes = [r for r in records if r["type"] == "sampler"]
    assert len(changes) == 1 and changes[0]["step"] == 2 and changes[0]["overhead"] > 1e-9
    assert changes[0]["every"] == profiler.every > 20 and profiler.every & (profiler.every - 1) == 0  # a power of 2 x 1
    assert [r["step"] for r in records if r["type"] == "sample"] == [0, 1, 2, 20]  # then only close()'s sample
    for record in records:
        validate_record(record)


def test_exclude_regex_and_the_memory_budget(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SparsityProfilerCallback(logdir=tmp_path, server=None, exclude_regex=r"^3$", memory_budget_mb=1e-5) as profiler:
            profiler.attach(dense_model_with_zeros())
    assert [l["name"] for l in read_log(profiler.log_path)[0]["layers"]] == ["0", "5"]
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "mask snapshots for inferred drop/grow events would take 0 MiB" in messages[0]


def test_histogram_bins_beyond_the_schema_limit_are_refused_before_training(tmp_path):
    with pytest.raises(ValueError) as error:
        SparsityProfilerCallback(logdir=tmp_path, server=None, bins=1025)
    assert str(error.value) == "bins must be an integer from 1 to 1024, got 1025"


def test_a_second_attach_is_refused_and_the_first_run_goes_on_untouched(tmp_path):
    model = dense_model_with_zeros()
    profiler = SparsityProfilerCallback(every=2, logdir=tmp_path, server=None, overhead_budget=None).attach(model)
    train(model, 4, profiler)
    with pytest.raises(RuntimeError, match=f"already records run {profiler.run_id}; one profiler records one run"):
        profiler.attach(dense_model_with_zeros())
    train(model, 4, profiler)
    profiler.close()
    records = read_log(profiler.log_path)
    assert [r["step"] for r in records if r["type"] == "sample"] == [0, 2, 4, 6, 8]
    assert records[-1]["type"] == "end" and records[-1]["status"] == "finished"
    assert len(list(tmp_path.iterdir())) == 1  # no second run folder


def test_step_after_close_is_a_silent_no_op(tmp_path):
    model = dense_model_with_zeros()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with SparsityProfilerCallback(every=1, logdir=tmp_path, server=None) as profiler:
            profiler.attach(model)
        lines = profiler.log_path.read_text()
        profiler.step()
        profiler.step(5)
        profiler.close()
    assert profiler.log_path.read_text() == lines


def test_a_layer_regex_that_matches_nothing_warns_once_with_the_pattern_and_some_names(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with SparsityProfilerCallback(every=1, logdir=tmp_path, server=None, layer_regex=r"^encoder\.") as profiler:
            profiler.attach(dense_model_with_zeros())
            profiler.step()
    messages = [str(w.message) for w in caught if "SparseLab Profiler" in str(w.message)]
    assert messages == ["SparseLab Profiler: layer_regex='^encoder\\\\.' left none of the model's 3 weighted layers "
                        "(for example '0', '3', '5'); samples will be empty. Names are matched with re.search."]


@pytest.mark.parametrize("option", ["layer_regex", "exclude_regex"])
def test_a_bad_regular_expression_is_refused_naming_its_option(tmp_path, option):
    with pytest.raises(ValueError) as error:
        SparsityProfilerCallback(logdir=tmp_path, server=None, **{option: "fc[0"})
    assert str(error.value).startswith(f"{option}='fc[0' is not a valid regular expression: unterminated character set")


def test_whole_numbers_of_any_integer_type_are_accepted_and_bools_are_not(tmp_path):
    import numpy as np

    profiler = SparsityProfilerCallback(every=np.int64(5), bins=np.int32(32), logdir=tmp_path, server=None)
    assert profiler.every == 5 and type(profiler.every) is int and profiler.bins == 32
    for bad in (True, 0, 2.5, "10"):
        with pytest.raises(ValueError, match=f"every must be an integer of at least 1, got {bad!r}"):
            SparsityProfilerCallback(every=bad, logdir=tmp_path, server=None)
