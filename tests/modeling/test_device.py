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
