"""Bank-balanced pruning (sim/pruning.py): the claim that G row classes cost no extra cycle
on balanced weights (exhaustively on class counts, then through the exact GEMM cycle model on
random and on the real VGG-16 weights), the pruning's own guarantees (density, per-chunk
counts, balance, per-chunk optimality) and its errors."""

import itertools
import math

import numpy as np
import pytest

from dstc.sim.config import DstcConfig, preset
from dstc.sim.gemm_cycles import ChunkCost, LaneClassCost, gemm_cycles
from dstc.sim.pruning import (
    bank_balanced_prune,
    chunk_class_counts,
    compare_pruning,
    is_bank_balanced,
    kept_magnitude_fraction,
    magnitude_prune,
    prune_bank_balanced,
)

# 8 row lanes on a 16-row tile, so that G = 1, 2, 4, 8 all exist.
LANES8 = DstcConfig(array_rows=8, array_cols=4, tile_m=16, tile_n=16, k_chunk=8,
                    operand_type="int8", accum_type="int32")


# -- the claim, on every count vector -----------------------------------------------------------


@pytest.mark.parametrize("lanes,tile_m", [(8, 16), (8, 32), (4, 8)])
def test_balanced_counts_cost_exactly_the_crossbar_cycles(lanes, tile_m):
    """For every per-class count vector of a chunk (every n, multiples of G or not):
    G classes never cost fewer row chunks than the crossbar, cost exactly as many iff
    max n_g <= (L/G) ceil(n/L), hence whenever n_g <= ceil(n/G) for all g, and G-balanced
    counts are lossless for every G' dividing G."""
    divisors = [g for g in (1, 2, 4, 8) if lanes % g == 0 and tile_m % g == 0]
    checked = {g: 0 for g in divisors}
    for classes in divisors:
        per_lane = lanes // classes
        size = tile_m // classes
        vectors = itertools.product(range(size + 1), repeat=classes)
        if (size + 1) ** classes > 200_000:      # (8, 32) with G = 8: sample instead
            rng = np.random.default_rng(classes)
            vectors = (tuple(v) for v in rng.integers(0, size + 1, (50_000, classes)))
        for counts in vectors:
            n = sum(counts)
            crossbar = -(-n // lanes)
            cost = max(-(-c // per_lane) for c in counts)
            assert cost >= crossbar
            assert (cost == crossbar) == (max(counts) <= per_lane * crossbar)
            if max(counts) <= -(-n // classes):
                assert cost == crossbar, counts
                checked[classes] += 1
                for coarser in divisors:
                    if classes % coarser == 0:
                        merged = [sum(counts[g::coarser]) for g in range(coarser)]
                        assert max(-(-c // (lanes // coarser)) for c in merged) == crossbar
    assert all(checked.values())


def test_the_balance_rule_is_sufficient_not_necessary():
    # L = 8, G = 8 (one lane per class), n = 9: ceil(n/L) = 2 allows 2 per class, the rule 2.
    # L = 8, G = 2 (4 lanes per class), n = 5: the rule allows 3, the cycles allow 4.
    counts = (4, 1)
    assert max(-(-c // 4) for c in counts) == -(-5 // 8)
    assert max(counts) > -(-5 // 2)


# -- the pruning ----------------------------------------------------------------------------------


@pytest.mark.parametrize("row_classes", [1, 2, 4, 8])
def test_pruning_keeps_the_density_and_every_chunk_count(rng, row_classes):
    for _ in range(6):
        m, k = (int(v) for v in rng.integers(1, 90, 2))
        weights = rng.standard_normal((m, k)).astype(np.float32)
        density = float(rng.random())
        plain = magnitude_prune(weights, density)
        mask = bank_balanced_prune(weights, density, row_classes, 32)
        assert mask.dtype == np.bool_ and mask.shape == weights.shape
        assert mask.sum() == round(density * m * k) == plain.sum()
        assert np.array_equal(chunk_class_counts(mask, 1, 32), chunk_class_counts(plain, 1, 32))
        assert is_bank_balanced(mask, row_classes, 32)
        assert kept_magnitude_fraction(weights, mask) <= kept_magnitude_fraction(weights, plain)
        if row_classes == 1:
            assert np.array_equal(mask, plain)


def test_magnitude_pruning_is_usually_not_balanced(rng):
    weights = rng.standard_normal((256, 256))
    assert not is_bank_balanced(magnitude_prune(weights, 0.3), 8, 32)


@pytest.mark.parametrize("row_classes", [2, 4])
def test_each_chunk_keeps_the_best_balanced_set(rng, row_classes):
    """Against every subset of an 8-row chunk: the kept set has the largest magnitude among
    the balanced sets of its size."""
    tile_m = 8
    weights = rng.standard_normal((tile_m, 40))
    mask = bank_balanced_prune(weights, 0.45, row_classes, tile_m)
    for column in range(weights.shape[1]):
        n = int(mask[:, column].sum())
        best = 0.0
        for rows in itertools.combinations(range(tile_m), n):
            counts = np.bincount(np.array(rows, dtype=int) % row_classes,
                                 minlength=row_classes)
            if counts.max(initial=0) <= math.ceil(n / row_classes):
                best = max(best, float(np.abs(weights[list(rows), column]).sum()))
        assert np.isclose(np.abs(weights[mask[:, column], column]).sum(), best)


def test_a_partial_last_tile_is_pruned_within_its_rows(rng):
    weights = rng.standard_normal((37, 50)) + 3.0   # no zero: every kept element is real
    mask = bank_balanced_prune(weights, 0.6, 8, 32)
    assert mask.sum() == round(0.6 * 37 * 50)
    assert is_bank_balanced(mask, 8, 32)


# -- cycles: G = 8 costs nothing on bank-balanced weights ---------------------------------------


@pytest.mark.parametrize("config", [LANES8, preset("default")], ids=["lanes8", "default"])
def test_balanced_weights_cost_no_extra_cycles(rng, config):
    for density_a in (0.9, 0.5, 0.3, 0.1):
        m, k, n = (int(v) for v in rng.integers(20, 120, 3))
        weights = rng.standard_normal((m, k))
        b_bits = rng.random((k, n)) < rng.random()
        chunk = gemm_cycles(magnitude_prune(weights, density_a), b_bits, config).cycles
        for classes in (1, 2, 4, 8):
            mask = bank_balanced_prune(weights, density_a, classes, config.tile_m)
            crossbar = gemm_cycles(mask, b_bits, config, cost=ChunkCost(config))
            # Magnitude and balanced pruning keep the same counts per k-step: same cycles.
            assert crossbar.cycles == chunk
            for coarser in (g for g in (1, 2, 4, 8) if classes % g == 0):
                assert gemm_cycles(mask, b_bits, config,
                                   cost=LaneClassCost(config, coarser)) == crossbar


def test_random_weights_do_cost_extra_cycles_with_eight_classes(rng):
    """The check above can fail: on magnitude-pruned (unbalanced) weights G = 8 is slower."""
    config = preset("default")
    mask = magnitude_prune(rng.standard_normal((256, 512)), 0.5)
    b_bits = rng.random((512, 64)) < 0.5
    assert (gemm_cycles(mask, b_bits, config, cost=LaneClassCost(config, 8)).cycles
            > gemm_cycles(mask, b_bits, config).cycles)


@pytest.fixture(scope="module")
def vgg16():
    from dstc.gen import weights

    return weights.load_vgg16_weights()


def test_vgg16_balanced_weights_cost_no_extra_cycles(vgg16):
    """Every VGG-16 layer, pruned to 30 % bank-balanced for G = 8 on the default preset: the
    8-class accumulator takes exactly the crossbar's cycles; magnitude pruning keeps more of
    the weights' magnitude, by little."""
    from dstc.sim.network import weight_matrix

    config = preset("default")
    rng = np.random.default_rng(16)
    for layer in vgg16:
        a = weight_matrix(layer.kernel)
        comparison = compare_pruning(a, 0.3, 8, config.tile_m)
        mask = bank_balanced_prune(a, 0.3, 8, config.tile_m)
        b_bits = rng.random((a.shape[1], 48)) < 0.5
        crossbar = gemm_cycles(mask, b_bits, config)
        assert gemm_cycles(mask, b_bits, config, cost=LaneClassCost(config, 8)) == crossbar
        assert 0 < comparison.balanced_fraction <= comparison.magnitude_fraction
        assert comparison.relative_loss < 0.05, layer.name


def test_the_network_method_balances_for_every_row_lane(rng):
    matrices = [rng.standard_normal((40, 30)), rng.standard_normal((64, 9))]
    config = preset("default")
    masks = prune_bank_balanced(matrices, 0.4, config)
    assert [mask.shape for mask in masks] == [(40, 30), (64, 9)]
    assert all(is_bank_balanced(mask, config.array_rows, config.tile_m) for mask in masks)
    with pytest.raises(ValueError, match="config=None"):
        prune_bank_balanced(matrices, 0.4, None)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("weights,density,classes,tile_m,message", [
    (np.ones(5), 0.5, 2, 8, "weights: must be a 2-D"),
    (np.array([[np.nan]]), 0.5, 1, 8, "weights: must be finite"),
    (np.ones((2, 2), dtype=complex), 0.5, 1, 8, "weights: must be real"),
    (np.ones((4, 4)), 1.5, 2, 8, r"density=1\.5: a density must be"),
    (np.ones((4, 4)), True, 2, 8, "density=True"),
    (np.ones((4, 4)), 0.5, 3, 8, r"row_classes=3: must divide tile_m \(8\)"),
    (np.ones((4, 4)), 0.5, 0, 8, "row_classes=0: must be a positive integer"),
    (np.ones((4, 4)), 0.5, 2, 2.0, r"tile_m=2\.0: must be a positive integer"),
])
def test_bad_input_is_refused(weights, density, classes, tile_m, message):
    with pytest.raises(ValueError, match=message):
        bank_balanced_prune(weights, density, classes, tile_m)


def test_kept_fraction_checks_its_shapes():
    assert kept_magnitude_fraction(np.zeros((2, 2)), np.zeros((2, 2), bool)) == 1.0
    assert kept_magnitude_fraction(np.array([[1.0, -3.0]]), np.array([[False, True]])) == 0.75
    with pytest.raises(ValueError, match=r"mask \(1, 2\) and weights \(2, 2\)"):
        kept_magnitude_fraction(np.zeros((2, 2)), np.zeros((1, 2), bool))
