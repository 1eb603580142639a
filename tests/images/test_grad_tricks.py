"""Test vectors T1 and T2 of image-models.md §10 for the autograd helpers."""

import torch

from dreamloom.images.grad_tricks import clamp_with_grad, replace_grad


def test_replace_grad_forwards_value_and_backwards_into_target() -> None:
    value = torch.tensor([10.0, 20.0, 30.0], requires_grad=True)
    target = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = replace_grad(value, target)
    (out * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    torch.testing.assert_close(out.detach(), torch.tensor([10.0, 20.0, 30.0]))
    torch.testing.assert_close(target.grad, torch.tensor([1.0, 2.0, 3.0]))
    assert value.grad is None


def test_replace_grad_sums_gradient_to_broadcast_target() -> None:
    target = torch.zeros(1, 3, 1, 1, requires_grad=True)
    out = replace_grad(torch.ones(2, 3, 4, 5), target)
    out.sum().backward()
    torch.testing.assert_close(target.grad, torch.full((1, 3, 1, 1), 40.0))


def test_clamp_with_grad_vector() -> None:
    x = torch.tensor([-0.5, 0.5, 1.5, -0.5, 1.5], requires_grad=True)
    out = clamp_with_grad(x, 0.0, 1.0)
    out.backward(torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0]))
    torch.testing.assert_close(out.detach(), torch.tensor([0.0, 0.5, 1.0, 0.0, 1.0]))
    torch.testing.assert_close(x.grad, torch.tensor([0.0, 1.0, 1.0, -1.0, 0.0]))
