import pytest
import torch

import adaptive as ad
from adaptive.modeling import resolve_device


def test_cpu_and_auto(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("ADAPTIVE_DEVICE", "auto")
    expected = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    assert resolve_device() == expected


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "tpu:0"])
def test_malformed_specs(spec):
    with pytest.raises(ad.ValidationError) as info:
        resolve_device(spec)
    assert info.value.field == "device"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_cuda_names_the_environment_variable(monkeypatch):
    monkeypatch.setenv("ADAPTIVE_DEVICE", "cuda:0")
    with pytest.raises(ad.ValidationError) as info:
        resolve_device()
    assert info.value.field == "ADAPTIVE_DEVICE" and "not available" in str(info.value)


@pytest.mark.parametrize(("spec", "env", "automatic"), [
    (None, None, True), (None, "auto", True), (None, " AUTO ", True), ("auto", "cpu", True), (None, "cpu", False),
    ("cpu", None, False), ("cuda:0", "auto", False), (torch.device("cpu"), "auto", False),
])
def test_which_specs_leave_the_choice_to_the_data(spec, env, automatic, monkeypatch):
    from adaptive.modeling.device import is_automatic

    if env is None:
        monkeypatch.delenv("ADAPTIVE_DEVICE", raising=False)
    else:
        monkeypatch.setenv("ADAPTIVE_DEVICE", env)
    assert is_automatic(spec) is automatic


def test_auto_uses_cuda_only_from_the_measured_size():
    from adaptive.modeling.device import CUDA_FROM_OBSERVATIONS, device_for_data

    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    assert device_for_data(cuda, automatic=True, observations=CUDA_FROM_OBSERVATIONS - 1) == cpu
    assert device_for_data(cuda, automatic=True, observations=CUDA_FROM_OBSERVATIONS) == cuda
    # A device named explicitly is used whatever the size; the CPU stays the CPU.
    assert device_for_data(cuda, automatic=False, observations=1) == cuda
    assert device_for_data(cpu, automatic=True, observations=10**6) == cpu


def test_an_experiment_remembers_whether_its_device_was_chosen_for_it(tmp_path, monkeypatch):
    monkeypatch.delenv("ADAPTIVE_DEVICE", raising=False)
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    exp = ad.create_experiment("auto-device", parameters={"x": ad.Float(0.0, 1.0)}, objectives=[ad.Minimize("f")],
                               storage=storage, device="auto")
    pinned = ad.load_experiment("auto-device", storage=storage, device="cpu")
    # As if CUDA were there: the automatic experiment moves small data to the CPU, the pinned one never.
    exp._device = pinned._device = torch.device("cuda", 0)
    assert exp._device_for([]) == torch.device("cpu")
    assert pinned._device_for([]) == torch.device("cuda", 0)
