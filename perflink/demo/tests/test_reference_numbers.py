"""Chinese numerals for team names: large demo insurers have more than 99 teams in a branch."""

import pytest

from perflink.demo.reference import cn_number


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "一"),
        (10, "十"),
        (12, "十二"),
        (25, "二十五"),
        (100, "一百"),
        (105, "一百零五"),
        (110, "一百一十"),
        (1010, "一千零一十"),
        (1234, "一千二百三十四"),
    ],
)
def test_team_numbers_read_as_chinese_numerals(n: int, text: str) -> None:
    assert cn_number(n) == text
