"""The one gate: which fast path each model gets, and the library versions it was verified on."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import torch
from botorch.models import MultiTaskGP, SingleTaskGP
from gpytorch.kernels import MaternKernel

from adaptive import _fastpaths
from adaptive.modeling import categorical


def _requirements() -> dict[str, str]:
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    out = {}
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].replace("-", "_")
        out[name] = requirement
    return out


@pytest.mark.parametrize("package", sorted(_fastpaths.VERIFIED))
def test_pyproject_pins_each_verified_series_as_the_upper_bound(package):
    """A newer series than the parity tests ran on cannot be installed by accident: the upper
    bound is the next minor version after the verified one."""
    major, minor = _fastpaths.VERIFIED[package].split(".")
    requirement = _requirements()[package]
    assert f"<{major}.{int(minor) + 1}" in requirement.replace(" ", ""), requirement


@pytest.mark.parametrize("package", sorted(_fastpaths.VERIFIED))
def test_the_parity_tests_run_on_the_verified_series(package):
    """The tests in this folder compare the fast paths with the installed libraries: they only
    vouch for the versions in VERIFIED if those are what is installed (CI installs from pyproject)."""
    assert _fastpaths._series(version(package.replace("_", "-"))) == _fastpaths.VERIFIED[package]
    assert _fastpaths.verified()


def _data(n=12, d=3):
    g = torch.Generator().manual_seed(0)
    X = torch.rand(n, d, generator=g, dtype=torch.float64)
    Y = torch.sin(4 * X[:, :1]) + X[:, 1:2]
    return X, (Y - Y.mean()) / Y.std()  # standardized: models without an outcome transform expect it


def test_each_model_kind_gets_its_path():
    X, Y = _data()
    assert _fastpaths.fit_path(SingleTaskGP(X, Y)) == _fastpaths.CLOSED_FORM
    assert _fastpaths.fit_path(SingleTaskGP(X, Y, covar_module=MaternKernel(ard_num_dims=3))) == _fastpaths.BOTORCH
    mixed = X.clone()
    mixed[:, 1:] = torch.nn.functional.one_hot(torch.arange(12) % 2, 2).double()
    assert _fastpaths.fit_path(categorical.mixed_model(mixed, Y, None, [[1, 2]])) == _fastpaths.CLOSED_FORM_CATEGORICAL
    choices_only = mixed[:, 1:]
    assert _fastpaths.fit_path(categorical.mixed_model(choices_only, Y, None, [[0, 1]])) == _fastpaths.LEAN_MLL_CATEGORICAL
    tasks = torch.cat([X, (torch.arange(12) % 2).double().unsqueeze(-1)], -1)
    assert _fastpaths.fit_path(MultiTaskGP(tasks, Y, task_feature=-1)) == _fastpaths.LEAN_MLL
    fitted = SingleTaskGP(X, Y, outcome_transform=None).eval()
    assert _fastpaths.lean_posterior_applies(fitted)
    assert not _fastpaths.lean_posterior_applies(SingleTaskGP(X, Y))  # still has its outcome transform


def test_off_series_versions_turn_every_path_off(monkeypatch):
    X, Y = _data()
    monkeypatch.setattr(_fastpaths, "version", lambda package: "9.9.0")
    _fastpaths.verified.cache_clear()
    try:
        assert _fastpaths.fit_path(SingleTaskGP(X, Y)) == _fastpaths.BOTORCH
        assert not _fastpaths.lean_posterior_applies(SingleTaskGP(X, Y, outcome_transform=None).eval())
        assert not _fastpaths.acquisition_fast()
    finally:
        monkeypatch.undo()
        _fastpaths.verified.cache_clear()
    assert _fastpaths.verified()
