"""Fake but well-formed personal data, generated column-wise: Chinese names, 18-digit resident ID numbers
with a correct check digit, 11-digit mobiles, bank card numbers with a correct Luhn digit."""

from __future__ import annotations

import numpy as np

from perflink.demo.reference import (
    BANK_BINS,
    GIVEN_FEMALE,
    GIVEN_MALE,
    GIVEN_NEUTRAL,
    MOBILE_PREFIXES,
    SURNAMES,
)

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))


def _surname_weights() -> np.ndarray:
    # Zipf-like: the first surnames (王, 李, 张, ...) are much more common than the last ones.
    ranks = np.arange(1, len(SURNAMES) + 1)
    w = 1.0 / ranks**0.9
    return w / w.sum()


def chinese_names(rng: np.random.Generator, gender: np.ndarray) -> list[str]:
    """One name per entry of `gender` ("M"/"F"): a surname and one or two given-name characters."""
    n = len(gender)
    surnames = np.array(list(SURNAMES))[rng.choice(len(SURNAMES), size=n, p=_surname_weights())]
    male = np.array(list(GIVEN_MALE + GIVEN_NEUTRAL))
    female = np.array(list(GIVEN_FEMALE + GIVEN_NEUTRAL))
    is_male = gender == "M"
    first = np.where(is_male, male[rng.integers(0, len(male), n)], female[rng.integers(0, len(female), n)])
    second = np.where(is_male, male[rng.integers(0, len(male), n)], female[rng.integers(0, len(female), n)])
    two_chars = rng.random(n) < 0.7
    given = np.where(two_chars, np.char.add(first, second), first)
    return np.char.add(surnames, given).tolist()


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers -> (n, width) matrix of decimal digits, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values.astype(np.int64)[:, None] // powers) % 10


def _join(digit_matrix: np.ndarray) -> np.ndarray:
    chars = digit_matrix.astype(np.int8) + ord("0")
    return chars.astype(np.uint8).view(f"S{digit_matrix.shape[1]}").ravel().astype(str)


def id_numbers(
    rng: np.random.Generator, area_codes: np.ndarray, birth_days: np.ndarray, gender: np.ndarray
) -> list[str]:
    """GB 11643 resident ID numbers: area code, birth date, sequence (odd for men), ISO 7064 check digit."""
    n = len(area_codes)
    births = birth_days.astype("datetime64[D]").astype(str)  # YYYY-MM-DD
    ymd = np.char.replace(births, "-", "")
    seq = rng.integers(0, 500, n) * 2 + (gender == "M")  # 17th digit odd for men, even for women
    seq_str = np.char.zfill(seq.astype(str), 3)
    body = np.char.add(np.char.add(area_codes.astype(str), ymd), seq_str)
    digits = body.astype("S17").view(np.uint8).reshape(n, 17) - ord("0")
    check = ID_CHECK[(digits.astype(np.int64) * ID_WEIGHTS).sum(axis=1) % 11]
    return np.char.add(body, check).tolist()


def mobiles(rng: np.random.Generator, n: int) -> list[str]:
    prefixes = np.array(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), n)]
    rest = np.char.zfill(rng.integers(0, 100_000_000, n).astype(str), 8)
    return np.char.add(prefixes, rest).tolist()


def bank_accounts(rng: np.random.Generator, n: int) -> list[str]:
    """Debit card numbers: a real issuer prefix, random digits and a Luhn check digit (16 or 19 digits)."""
    which = rng.integers(0, len(BANK_BINS), n)
    bins = np.array([b for b, _ in BANK_BINS])[which]
    lengths = np.array([length for _, length in BANK_BINS])[which]
    out = np.empty(n, dtype=object)
    for length in np.unique(lengths):
        sel = lengths == length
        k = int(sel.sum())
        body_len = length - 6 - 1
        body = rng.integers(0, 10, (k, body_len))
        prefix = np.array([list(b) for b in bins[sel]], dtype=np.int64).reshape(k, 6)
        payload = np.concatenate([prefix, body], axis=1)
        # Luhn: double every second digit from the right of the payload (the check digit comes after it).
        doubled = payload.copy()
        doubled[:, ::-1][:, ::2] *= 2
        doubled = np.where(doubled > 9, doubled - 9, doubled)
        check = (10 - doubled.sum(axis=1) % 10) % 10
        out[sel] = _join(np.concatenate([payload, check[:, None]], axis=1))
    return out.tolist()


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def id_check_ok(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(c) * int(w) for c, w in zip(number[:17], ID_WEIGHTS, strict=True))
    return number[17] == ID_CHECK[total % 11]
