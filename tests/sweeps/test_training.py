"""The training loop: a non-finite loss stops it with the step where it happened."""

from __future__ import annotations

import pytest
import torch

from attnbench.sweeps.training import Diverged, make_optimizer, train_ensemble


def test_nan_loss_raises_diverged_with_its_step():
    weight = torch.ones(3, requires_grad=True)

    def losses(step: int) -> torch.Tensor:
        scale = torch.tensor([1.0, float("nan") if step == 4 else 1.0, 1.0])
        return weight * scale

    with pytest.raises(Diverged) as caught:
        train_ensemble(losses, make_optimizer([weight], "sgd", 0.1), 10, show_progress=False)
    assert caught.value.step == 4 and "step 4" in str(caught.value) and "[1]" in str(caught.value)


def test_unknown_optimizer_is_named():
    with pytest.raises(ValueError, match="'adam' or 'sgd'"):
        make_optimizer([torch.zeros(1, requires_grad=True)], "lbfgs", 0.1)
