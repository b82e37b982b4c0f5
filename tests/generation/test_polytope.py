"""Linear constraints in the acquisition optimizer: feasible starts, the retraction, exact optima."""

import pytest
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.models import SingleTaskGP

import adaptive as ad
from adaptive.generation import polytope as polytope_module
from adaptive.generation.optimize import OptimizerSettings, maximize
from adaptive.generation.polytope import MAX_REJECTION_DRAWS, Polytope
from adaptive.space import SearchSpace

CPU = torch.device("cpu")


def _space(constraints, **params):
    return SearchSpace(params or {"a": ad.Float(0, 1), "b": ad.Float(0, 1), "c": ad.Float(0, 1)}, constraints)


def test_retraction_is_the_identity_inside_and_lands_inside_from_anywhere():
    polytope = Polytope.from_space(_space(["a + b + c <= 1", "a - b <= 0.2"]), device=CPU)
    assert polytope.contains(polytope.center.unsqueeze(0)).all()
    slack = polytope.b - polytope.A @ polytope.center
    assert (slack > 0.05).all()  # the Chebyshev centre is deep inside
    Y = torch.rand(4000, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    X = polytope.retract(Y)
    inside = polytope.contains(Y)
    assert 0 < inside.float().mean() < 0.5
    assert torch.equal(X[inside], Y[inside])
    assert polytope.contains(X).all() and (X >= 0).all() and (X <= 1).all()
    # Outside points land on the boundary, on the segment from the centre towards them.
    out = X[~inside]
    assert ((out @ polytope.A.T - polytope.b).max(-1).values.abs() < 1e-12).all()
    direction = torch.nn.functional.normalize(Y[~inside] - polytope.center, dim=-1)
    assert torch.allclose(torch.nn.functional.normalize(out - polytope.center, dim=-1), direction)


def test_samples_are_feasible_and_a_sliver_is_topped_up_by_hit_and_run():
    polytope = Polytope.from_space(_space(["a + b <= 1.5"]), device=CPU)
    X = polytope.sample(512, seed=3)
    assert X.shape == (512, 3) and polytope.contains(X).all()
    assert torch.equal(X, polytope.sample(512, seed=3))
    # a + b + c <= 0.02 is a 1.3e-6 share of the cube: rejection finds almost nothing.
    sliver = Polytope.from_space(_space(["a + b + c <= 0.02"]), device=CPU)
    X = sliver.sample(64, seed=0)
    assert X.shape == (64, 3) and sliver.contains(X).all()
    assert MAX_REJECTION_DRAWS * 1.3e-6 < 1  # so most of these came from hit-and-run
    assert X.std(0).min() > 1e-4  # spread, not 64 copies of one point


def test_a_quarter_of_the_samples_lie_on_the_faces_that_meet_the_cube():
    polytope = Polytope.from_space(_space(["a + b + c <= 1", "a - b <= 0.2", "a + b <= 5"]), device=CPU)
    X = polytope.sample(512, seed=1)
    assert X.shape == (512, 3) and polytope.contains(X).all() and (X >= 0).all() and (X <= 1).all()
    on = ((X @ polytope.A.T - polytope.b).abs() < 1e-9)  # 512 x 3: on each face
    # a + b <= 5 never binds in the cube: its share goes to the inside points.
    assert on[:, 0].sum() >= 40 and on[:, 1].sum() >= 40 and on[:, 2].sum() == 0
    assert on.any(-1).sum() <= 512 // 4
    for k in range(2):  # spread along each face, not piled on one point
        assert X[on[:, k]].std(0).min() > 0.05


class _NarrowPeakOnAFace(AcquisitionFunction):
    """A broad interior hill (height 0.5) and a narrow peak (height 1, sd 0.01) on the face
    ``x1 - 2 x0 = 0.8``, where BraninCurrin-linear's acquisition peaked."""

    peak = torch.tensor([0.087, 0.974], dtype=torch.float64)

    def __init__(self):
        super().__init__(model=SingleTaskGP(torch.rand(3, 2, dtype=torch.float64), torch.rand(3, 1, dtype=torch.float64)))
        self.X_pending = None

    def forward(self, X):
        x = X[..., 0, :]
        hill = 0.5 * torch.exp(-(x - torch.tensor([0.6, 0.4], dtype=x.dtype)).pow(2).sum(-1) / 0.1)
        return hill + torch.exp(-(x - self.peak).pow(2).sum(-1) / (2 * 0.01**2))

    def set_X_pending(self, X_pending=None):
        self.X_pending = X_pending


@pytest.mark.parametrize("seed", range(3))
def test_maximize_finds_a_narrow_peak_on_a_face(seed):
    space = SearchSpace({"x0": ad.Float(0, 1), "x1": ad.Float(0, 1)}, ["x1 - 2*x0 <= 0.8"])
    torch.manual_seed(seed)
    (params,) = maximize(_NarrowPeakOnAFace(), space, 1, settings=OptimizerSettings())
    assert [params["x0"], params["x1"]] == pytest.approx(_NarrowPeakOnAFace.peak.tolist(), abs=0.01)


def test_without_face_samples_the_narrow_peak_is_missed(monkeypatch):
    """The test above fails on the sampler before faces: only interior points, every restart
    climbs the broad hill."""
    monkeypatch.setattr(polytope_module, "FACE_SHARE", 0.0)
    space = SearchSpace({"x0": ad.Float(0, 1), "x1": ad.Float(0, 1)}, ["x1 - 2*x0 <= 0.8"])
    missed = 0
    for seed in range(3):
        torch.manual_seed(seed)
        (params,) = maximize(_NarrowPeakOnAFace(), space, 1, settings=OptimizerSettings())
        missed += abs(params["x0"] - 0.087) > 0.01
    assert missed >= 2


class _NegativeDistance(AcquisitionFunction):
    """An exact fake: minus the squared distance to ``target`` (maximum: the target's projection)."""

    def __init__(self, target):
        super().__init__(model=SingleTaskGP(torch.rand(3, 3, dtype=torch.float64), torch.rand(3, 1, dtype=torch.float64)))
        self.target = target
        self.X_pending = None

    def forward(self, X):
        return -(X - self.target).pow(2).sum(-1).sum(-1)

    def set_X_pending(self, X_pending=None):
        self.X_pending = X_pending


def test_maximize_finds_the_constrained_optimum_on_the_boundary():
    space = _space(["a + b + c <= 1"])
    target = torch.tensor([0.9, 0.6, 0.3], dtype=torch.float64)  # outside: sum 1.8
    torch.manual_seed(0)
    (params,) = maximize(_NegativeDistance(target), space, 1, settings=OptimizerSettings())
    # The Euclidean projection onto a + b + c = 1 (every coordinate stays in [0, 1]).
    expected = target - (target.sum() - 1) / 3
    assert [params[k] for k in "abc"] == pytest.approx(expected.tolist(), abs=2e-3)
    assert space.is_feasible(params)


def test_maximize_keeps_an_interior_optimum():
    space = _space(["a + b + c <= 1"])
    target = torch.tensor([0.2, 0.1, 0.3], dtype=torch.float64)
    torch.manual_seed(0)
    (params,) = maximize(_NegativeDistance(target), space, 1, settings=OptimizerSettings())
    assert [params[k] for k in "abc"] == pytest.approx(target.tolist(), abs=1e-4)


def test_constrained_bo_proposals_hold_with_integers_and_choices(sqlite_url):
    exp = ad.create_experiment(
        "feed", storage=sqlite_url, seed=1,
        parameters={"v": ad.Float(0.0, 1.0), "posts": ad.Int(5, 50), "ranker": ad.Choice(["a", "b", "c"])},
        parameter_constraints=["v + 0.5*posts <= 20"], objectives=[ad.Maximize("y")],
        generation=ad.GenerationSettings(initial_trials=6),
    )
    for _ in range(4):
        for t in exp.suggest(2):
            p = t.params
            exp.complete(t.id, {"y": p["posts"] / 10 + p["v"] - (p["ranker"] == "b")})
    proposals = [t for t in exp.trials() if t.generator == "botorch"]
    assert proposals and all(t.params["v"] + 0.5 * t.params["posts"] <= 20 + 1e-9 for t in proposals)
    assert max(t.params["posts"] for t in proposals) >= 35  # pushed toward the boundary posts <= 40 - 2v
