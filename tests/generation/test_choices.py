"""Unordered choices are searched as categories: every restart keeps one value, the starts cover the values."""

import numpy as np
import pytest
import torch

import adaptive as ad
from adaptive.generation.optimize import _starts
from adaptive.space import SearchSpace


def _moves_to_the_better_choice(seed: int) -> str:
    exp = ad.create_experiment(
        "cat", storage="sqlite://", seed=seed,
        parameters={"x": ad.Float(0.0, 1.0), "y": ad.Float(0.0, 1.0), "kind": ad.Choice(["a", "b", "c"])},
        objectives=[ad.Maximize("f")], generation=ad.GenerationSettings(initial_trials=4),
    )
    bonus = {"a": 0.0, "b": 0.6, "c": 0.2}

    def f(p):
        return bonus[p["kind"]] - (p["x"] - 0.3) ** 2 - (p["y"] - 0.7) ** 2

    rng = np.random.default_rng(seed)
    # Mostly "a" was tried; the one "b" trial already looks better.
    for kind, n in (("a", 6), ("b", 1), ("c", 2)):
        for _ in range(n):
            p = {"x": float(rng.random()), "y": float(rng.random()), "kind": kind}
            exp.attach(p, {"f": f(p)})
    kinds = ""
    for _ in range(5):
        (t,) = exp.suggest(1)
        assert t.generator == "botorch"
        kinds += t.params["kind"]
        exp.complete(t.id, {"f": f(t.params)})
    return kinds


@pytest.mark.parametrize("seed", [0, 1])
def test_bo_leaves_the_most_tried_choice_when_the_data_favour_another(seed):
    # With the choice relaxed to a continuous one-hot and rounded, seed 0 proposed "a" every time.
    kinds = _moves_to_the_better_choice(seed)
    assert kinds.count("b") >= 3, kinds


def test_starts_cover_every_combination_of_choices():
    space = SearchSpace({"x": ad.Float(0, 1), "u": ad.Choice(["p", "q"]), "v": ad.Choice(["r", "s", "t"])})
    raw = space.snap(torch.rand(256, space.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1)))
    # The acquisition loves u = "p", v = "r": a Boltzmann draw alone would start almost only there.
    values = 20.0 * raw[:, 1] * raw[:, 3] + raw[:, 0]
    torch.manual_seed(0)
    starts = _starts(space, raw.unsqueeze(-2), values, 16)
    assert starts.shape == (16, 1, space.dim)
    combos = {(int(s[0, 1:3].argmax()), int(s[0, 3:6].argmax())) for s in starts}
    assert len(combos) == 6  # all 2 x 3, within the 8 reserved starts
    assert torch.equal(space.snap(starts), starts)  # exact one-hot rows
