"""The one random-draw module: draws follow the generator's stream, whatever device they end up on."""

from __future__ import annotations

import pytest
import torch

from dreamloom.draws import integers, normal, seeded_generator, uniform, uniform_like

CPU = torch.device("cpu")


def test_uniform_is_the_generators_own_stream() -> None:
    expected = torch.rand((4, 3), generator=torch.Generator().manual_seed(5))
    assert torch.equal(uniform(torch.Generator().manual_seed(5), (4, 3), CPU), expected)


@pytest.mark.parametrize("seed", [-(2**63), -4854551145582748953, 0, 15291079827822783929, 2**64 - 1])
def test_seeded_generator_matches_torch_manual_seed_over_pyttis_whole_range(seed: int) -> None:
    torch_state = torch.Generator()
    torch_state.manual_seed(seed)
    assert torch.equal(seeded_generator(seed).get_state(), torch_state.get_state())


def test_seeded_generator_offsets_wrap_around_like_the_seed() -> None:
    assert seeded_generator(2**64 - 1, 2).initial_seed() == 1
    assert seeded_generator(-1, 1).initial_seed() == 0
    assert seeded_generator(5, 1000).initial_seed() == 1005


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_uniform_like_takes_shape_and_dtype_of_its_model(dtype: torch.dtype) -> None:
    like = torch.zeros(2, 5, 7, dtype=dtype)
    drawn = uniform_like(like, torch.Generator().manual_seed(1))
    expected = torch.rand((2, 5, 7), generator=torch.Generator().manual_seed(1), dtype=dtype)
    assert drawn.dtype == dtype and torch.equal(drawn, expected)
    assert float(drawn.min()) >= 0.0 and float(drawn.max()) < 1.0


@pytest.mark.parametrize("shape", [(6,), (2, 3, 120, 120)])  # below and above the large-draw size
def test_normal_on_the_generators_device_is_its_own_stream(shape: tuple[int, ...]) -> None:
    expected = torch.randn(shape, generator=torch.Generator().manual_seed(2))
    assert torch.equal(normal(torch.Generator().manual_seed(2), shape, CPU), expected)


def test_integers_stay_in_range_and_follow_the_stream() -> None:
    drawn = integers(torch.Generator().manual_seed(3), 10, (500,), CPU)
    assert drawn.dtype == torch.int64 and int(drawn.min()) == 0 and int(drawn.max()) == 9
    assert torch.equal(drawn, torch.randint(10, (500,), generator=torch.Generator().manual_seed(3)))


def test_successive_draws_advance_one_generator() -> None:
    generator = torch.Generator().manual_seed(0)
    first, second = uniform(generator, (8,), CPU), uniform(generator, (8,), CPU)
    assert not torch.equal(first, second)
    replay = torch.Generator().manual_seed(0)
    assert torch.equal(torch.cat([first, second]), torch.rand(16, generator=replay))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cpu_generator_gives_the_same_numbers_on_the_gpu() -> None:
    """Small draws are moved, not redrawn (large normal draws use a seeded device generator instead)."""
    cuda = torch.device("cuda")
    for draw in (uniform, normal):
        on_gpu = draw(torch.Generator().manual_seed(4), (3, 8, 8), cuda)
        on_cpu = draw(torch.Generator().manual_seed(4), (3, 8, 8), CPU)
        assert on_gpu.device.type == "cuda" and torch.equal(on_gpu.cpu(), on_cpu)
