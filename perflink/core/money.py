"""Money is Decimal, rounded once, on purpose: ROUND_HALF_UP to the fen, pools conserved exactly."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def to_fen(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def allocate_to_fen(weights: Sequence[Decimal], total: Decimal) -> list[Decimal]:
    """Split `total` (in yuan, to the fen) in proportion to `weights` so the parts sum to it exactly.

    Largest-remainder: every part is rounded down to the fen, then the fen left over go one each to
    the parts with the largest remainders (ties to the earlier part, so the result is deterministic).
    """
    total = to_fen(total)
    weight_sum = sum(weights, Decimal(0))
    if not weights:
        return []
    if weight_sum <= 0:
        raise ValueError("weights must sum to a positive amount")
    exact = [total * w / weight_sum for w in weights]
    floors = [e.quantize(FEN, rounding=ROUND_DOWN) for e in exact]
    left_fen = int((total - sum(floors, Decimal(0))) / FEN)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left_fen]:
        floors[i] += FEN
    return floors
