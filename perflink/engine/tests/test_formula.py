"""The formula language: parsing, the errors and where they point, checking a set of formulas, the null and
division rules, and the compiled polars expression agreeing with the reference interpreter."""

from __future__ import annotations

import ast
import functools
import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflink.engine import formula as formula_module
from perflink.engine.formula import (
    MAX_DEPTH,
    Binary,
    Boolean,
    Call,
    Formula,
    FormulaError,
    Name,
    Node,
    Number,
    Unary,
    check,
    compile_expr,
    evaluate,
    explain,
    parse,
)


def shape(text: str) -> str:
    """The parsed tree fully bracketed, to show precedence and associativity."""
    return _shape(parse(text).root)


def _shape(node: Node) -> str:
    match node:
        case Number(value=value):
            return f"{value:g}"
        case Boolean(value=value):
            return str(value).lower()
        case Name(name=name):
            return name
        case Unary(op=op, operand=operand):
            return f"({op} {_shape(operand)})"
        case Binary(op=op, left=left, right=right):
            return f"({_shape(left)} {op} {_shape(right)})"
        case Call(function=function, args=args):
            return f"{function}({', '.join(_shape(arg) for arg in args)})"
    raise AssertionError(node)


def error_of(text: str) -> FormulaError:
    with pytest.raises(FormulaError) as caught:
        parse(text)
    return caught.value


def compiled_values(f: Formula, frame: pl.DataFrame) -> list[float | None]:
    return frame.with_columns(compile_expr(f).alias("__result"))["__result"].to_list()


def same(x: float | None, y: float | None) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return math.isclose(x, y, rel_tol=1e-9)


# --- parsing: precedence and associativity --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 - 2 - 3", "((1 - 2) - 3)"),
        ("2 * 3 + 4", "((2 * 3) + 4)"),
        ("2 + 3 * 4", "(2 + (3 * 4))"),
        ("-2 * 3", "((- 2) * 3)"),
        ("-a - -b", "((- a) - (- b))"),
        ("a / b / c", "((a / b) / c)"),
        ("a / b * c", "((a / b) * c)"),
        ("(1 - 2) - 3", "((1 - 2) - 3)"),
        ("1 - (2 - 3)", "(1 - (2 - 3))"),
        ("if(a + 1 < b * 2, 1, 0)", "if(((a + 1) < (b * 2)), 1, 0)"),
        ("if(not a < b and c > 0 or true, 1, 0)", "if((((not (a < b)) and (c > 0)) or true), 1, 0)"),
        ("if(a > 0 or b > 0 and c > 0, 1, 0)", "if(((a > 0) or ((b > 0) and (c > 0))), 1, 0)"),
        ("max(0, min(100, x))", "max(0, min(100, x))"),
        ("1e3 + 0.5 + 12", "((1000 + 0.5) + 12)"),
        ("  a\t*\n(b+c)  ", "(a * (b + c))"),
    ],
)
def test_given_operators_when_parsed_then_precedence_and_left_associativity_hold(text, expected) -> None:
    assert shape(text) == expected


def test_given_left_nested_operations_when_evaluated_then_they_group_to_the_left() -> None:
    assert evaluate(parse("1 - 2 - 3"), {}) == -4
    assert evaluate(parse("2 * 3 + 4"), {}) == 10
    assert evaluate(parse("-2 * 3"), {}) == -6
    assert evaluate(parse("a / b / c"), {"a": 100.0, "b": 5.0, "c": 2.0}) == 10


def test_given_a_formula_when_parsed_then_it_keeps_the_text_and_the_names_it_refers_to() -> None:
    f = parse("arrived_in_time / positions_requested * 100 + coalesce(arrived_in_time, 0)")
    assert f.text == "arrived_in_time / positions_requested * 100 + coalesce(arrived_in_time, 0)"
    assert f.names == frozenset({"arrived_in_time", "positions_requested"})


def test_given_different_spacing_when_parsed_then_the_trees_are_equal() -> None:
    assert parse("a*(b+1)").root == parse(" a * ( b + 1 ) ").root
    assert parse("a * (b + 1)").root != parse("a * b + 1").root


# --- parsing: each error, with its message and position -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        # tokens
        ("a + $", "unexpected character '$' at column 5", 4),
        ("a = b", "unexpected character '=' at column 3; did you mean '=='?", 2),
        ("a ! b", "unexpected character '!' at column 3; did you mean '!=' or 'not'?", 2),
        ("（a + b）", "unexpected character '（' at column 1; did you mean '('?", 0),
        (".5", "unexpected character '.' at column 1; write numbers with a leading digit", 0),
        ("1. + a", "expected a digit after '.' at column 3", 2),
        ("1e+ 2", "expected the digits of an exponent at column 4", 3),
        ("2x", "expected an operator after the number at column 2, found 'x'", 1),
        ("1e999", "the number 1e999 at column 1 is too large", 0),
        # structure
        ("", "the formula is empty", 0),
        ("   ", "the formula is empty", 0),
        ("(a + b", "expected ')' at column 7 to close the '(' at column 1, found the end of the formula", 6),
        ("max(a, (b + 1)", "expected ',' or ')' at column 15 to close the '(' at column 4", 14),
        ("max(a 2)", "expected ',' or ')' at column 7 to close the '(' at column 4, found the number 2", 6),
        ("a b", "expected an operator or the end of the formula at column 3, found the name 'b'", 2),
        ("(a + b))", "expected an operator or the end of the formula at column 8, found ')'", 7),
        ("1 2", "expected an operator or the end of the formula at column 3, found the number 2", 2),
        ("a + ", "expected a number, a name or '(' at column 5, found the end of the formula", 4),
        ("a + and", "expected a number, a name or '(' at column 5, found 'and'", 4),
        ("* a", "expected a number, a name or '(' at column 1, found '*'", 0),
        ("if(a < b < c, 1, 0)", "comparisons do not chain at column 10: join them with 'and'", 9),
        # functions
        ("sqrt(a)", "unknown function 'sqrt' at column 1", 0),
        ("max + 1", "'max' at column 1 is a function: call it as max(...)", 0),
        ("1 + abs(1, 2)", "abs() at column 5 takes 1 argument, got 2", 4),
        ("max(1)", "max() at column 1 takes at least 2 arguments, got 1", 0),
        ("min()", "min() at column 1 takes at least 2 arguments, got 0", 0),
        ("if(a > 1, 2)", "if() at column 1 takes 3 arguments, got 2", 0),
        ("div(a, b)", "div() at column 1 takes 3 arguments, got 2", 0),
        ("round(a)", "round() at column 1 takes 2 arguments, got 1", 0),
        ("round(a, 7)", "the places of round() at column 10 must be a whole number from 0 to 6", 9),
        ("round(a, 1.5)", "the places of round() at column 10 must be a whole number from 0 to 6", 9),
        ("round(a, b)", "the places of round() at column 10 must be a whole number from 0 to 6", 9),
        ("round(a, -1)", "the places of round() at column 10 must be a whole number from 0 to 6", 9),
        # types
        ("1 + true", "the right side of '+' must be a number, but 'true' at column 5 is a bool", 4),
        ("(a > 1) * 2", "the left side of '*' must be a number, but '>' at column 4 is a bool", 3),
        ("if(1, 2, 3)", "the condition of if() must be a bool, but 1 at column 4 is a number", 3),
        ("if(a and true, 1, 0)", "the left side of 'and' must be a bool, but 'a' at column 4 is a number", 3),
        ("if(not a, 1, 0)", "the operand of 'not' must be a bool, but 'a' at column 8 is a number", 7),
        ("-(a > 1)", "the operand of '-' must be a number, but '>' at column 5 is a bool", 4),
        ("if(true == false, 1, 0)", "the left side of '==' must be a number, but 'true' at column 4", 3),
        ("max(1, a < 2)", "argument 2 of max() must be a number, but '<' at column 10 is a bool", 9),
        (
            "if(a > 1, 2, true)",
            "the branches of if() must have the same type, but 2 at column 11 is a number "
            "and 'true' at column 14 is a bool",
            13,
        ),
        ("coalesce(a, false)", "the arguments of coalesce() must have the same type", 12),
        ("a > b", "the formula must give a number, but '>' at column 3 gives true or false", 2),
        ("true", "the formula must give a number, but 'true' at column 1 gives true or false", 0),
        (
            "if(a > 1, true, false)",
            "the formula must give a number, but if() at column 1 gives true or false",
            0,
        ),
    ],
)
def test_given_a_faulty_formula_when_parsed_then_the_error_points_at_the_spot(
    text, message, position
) -> None:
    error = error_of(text)
    assert message in str(error)
    assert error.position == position
    assert error.code is None


def test_given_too_deep_brackets_when_parsed_then_it_is_refused_instead_of_exhausting_the_stack() -> None:
    error = error_of("(" * (MAX_DEPTH + 5) + "a" + ")" * (MAX_DEPTH + 5))
    assert f"nests more than {MAX_DEPTH} levels deep" in str(error)
    assert parse("(" * 50 + "a" + ")" * 50).names == {"a"}


def test_given_a_very_long_flat_chain_when_parsed_then_it_is_refused_as_too_deep() -> None:
    error = error_of(" + ".join(["a"] * (MAX_DEPTH + 5)))
    assert f"nests more than {MAX_DEPTH} levels deep" in str(error)


@pytest.mark.parametrize("template", ["div(1, {}, 0)", "max(0, {})", "round({}, 2)", "1 / ({})"])
def test_given_nested_calls_that_double_their_work_when_parsed_then_the_formula_is_too_large(
    template,
) -> None:
    text = "a"
    for _ in range(16):
        text = template.format(text)  # each level uses its inner part twice: 2**16 steps
    error = error_of(text)
    assert "too large to compute" in str(error)
    assert error.position == 0


def test_given_bool_valued_if_and_coalesce_when_parsed_then_they_are_well_typed() -> None:
    f = parse("if(coalesce(a > 1, false) or if(b > 1, true, false), 1, 0)")
    assert evaluate(f, {"a": None, "b": 2.0}) == 1


# --- check(): names, cycles, order ----------------------------------------------------------------------------


def test_given_an_unknown_name_when_checked_then_the_error_names_the_formula_and_the_name() -> None:
    formulas = {"rate": parse("arrived / requested * 100"), "score": parse("rate + bonus_pts")}
    with pytest.raises(FormulaError) as caught:
        check(formulas, known={"arrived", "requested"})
    assert str(caught.value) == "formula 'score': unknown name 'bonus_pts' at column 8"
    assert (caught.value.code, caught.value.position) == ("score", 7)


def test_given_a_self_reference_when_checked_then_it_is_a_cycle() -> None:
    with pytest.raises(FormulaError) as caught:
        check({"a": parse("b + a * 2")}, known={"b"})
    assert str(caught.value) == "cycle a → a: formula 'a' refers to 'a' at column 5"
    assert (caught.value.code, caught.value.position) == ("a", 4)


def test_given_a_longer_cycle_when_checked_then_the_message_shows_the_path() -> None:
    formulas = {
        "top": parse("a + 1"),
        "a": parse("base + b"),
        "b": parse("c * 2"),
        "c": parse("max(a, 0)"),
    }
    with pytest.raises(FormulaError) as caught:
        check(formulas, known={"base"})
    assert "cycle a → b → c → a" in str(caught.value)
    assert "formula 'c' refers to 'a' at column 5" in str(caught.value)
    assert caught.value.code == "c"


def test_given_a_code_that_is_both_derived_and_known_when_checked_then_it_is_refused() -> None:
    with pytest.raises(FormulaError, match="'rate' is both a derived metric and a base metric"):
        check({"rate": parse("a + 1")}, known={"a", "rate"})


def test_given_derived_metrics_on_each_other_when_checked_then_the_order_puts_dependencies_first() -> None:
    formulas = {
        "total": parse("part1 + part2 + base"),
        "part1": parse("part2 + 1"),
        "part2": parse("base * 2"),
        "other": parse("base - 1"),
    }
    order = check(formulas, known=["base"])
    assert order == ["part2", "part1", "total", "other"]
    for code, f in formulas.items():
        assert all(order.index(name) < order.index(code) for name in f.names if name in formulas)


def test_given_no_formulas_when_checked_then_the_order_is_empty() -> None:
    assert check({}, known={"a"}) == []


# --- semantics: division, nulls, functions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        # a / b is null where b is 0 (never inf or NaN); div() gives its default instead
        ("a / b", {"a": 1.0, "b": 0.0}, None),
        ("a / b", {"a": 0.0, "b": 0.0}, None),
        ("a / b", {"a": 1.0, "b": -0.0}, None),
        ("a / b", {"a": 1.0, "b": None}, None),
        ("a / b", {"a": 3.0, "b": 4.0}, 0.75),
        ("div(a, b, 7)", {"a": 1.0, "b": 0.0}, 7.0),
        ("div(a, b, 7)", {"a": 1.0, "b": None}, 7.0),
        ("div(a, b, 7)", {"a": None, "b": 2.0}, None),
        ("div(a, b, 7)", {"a": 3.0, "b": 4.0}, 0.75),
        ("div(a, b, c)", {"a": 3.0, "b": 0.0, "c": None}, None),
        # arithmetic and comparisons with null give null
        ("a + 1", {"a": None}, None),
        ("-a", {"a": None}, None),
        ("abs(a)", {"a": None}, None),
        ("abs(a)", {"a": -2.5}, 2.5),
        ("if(a > 1, 1, 0)", {"a": None}, None),
        ("if(a == 1, 1, 0)", {"a": 1.0}, 1.0),
        ("if(a != 1, 1, 0)", {"a": 1.0}, 0.0),
        ("if(not a > 1, 1, 0)", {"a": None}, None),
        # three-valued logic: null only where the missing value decides
        ("if(a > 1 and b > 1, 1, 0)", {"a": None, "b": 0.0}, 0.0),
        ("if(a > 1 and b > 1, 1, 0)", {"a": None, "b": 2.0}, None),
        ("if(a > 1 or b > 1, 1, 0)", {"a": None, "b": 2.0}, 1.0),
        ("if(a > 1 or b > 1, 1, 0)", {"a": None, "b": 0.0}, None),
        # min and max: any null gives null
        ("max(a, 0)", {"a": None}, None),
        ("min(a, b, 5)", {"a": 3.0, "b": None}, None),
        ("min(a, b, 5)", {"a": 3.0, "b": -1.0}, -1.0),
        ("max(0, min(100, a))", {"a": 130.0}, 100.0),
        ("max(0, min(100, a))", {"a": -4.0}, 0.0),
        # coalesce: the first non-null
        ("coalesce(a, b, 0)", {"a": None, "b": 4.0}, 4.0),
        ("coalesce(a, b, 0)", {"a": None, "b": None}, 0.0),
        ("coalesce(a, b)", {"a": None, "b": None}, None),
        ("coalesce(a, b)", {"a": 0.0, "b": 9.0}, 0.0),
        # round: half away from zero, on binary floats
        ("round(a, 0)", {"a": 2.5}, 3.0),
        ("round(a, 0)", {"a": -2.5}, -3.0),
        ("round(a, 0)", {"a": 2.4999}, 2.0),
        ("round(a, 2)", {"a": 0.125}, 0.13),
        ("round(a, 2)", {"a": -0.125}, -0.13),
        ("round(a, 2)", {"a": 1.005}, 1.0),
        ("round(a, 6)", {"a": 1.23456749}, 1.234567),
        ("round(a, 1)", {"a": None}, None),
        # the brief's examples
        (
            "arrived_in_time / positions_requested * 100",
            {"arrived_in_time": 9.0, "positions_requested": 12.0},
            75.0,
        ),
        (
            "100 - outage_hours / period_hours * 100",
            {"outage_hours": 6.0, "period_hours": 720.0},
            99.16666666666667,
        ),
        ("if(claims_cycle_days <= 2, 1.2, 0.9)", {"claims_cycle_days": 2.0}, 1.2),
        ("if(claims_cycle_days <= 2, 1.2, 0.9)", {"claims_cycle_days": 2.5}, 0.9),
        # NaN in an input is read as null
        ("a + 1", {"a": math.nan}, None),
    ],
)
def test_given_values_when_evaluated_and_compiled_then_both_follow_the_null_and_division_rules(
    text, values, expected
) -> None:
    f = parse(text)
    assert same(evaluate(f, values), expected)
    frame = pl.DataFrame([values], schema=dict.fromkeys(values, pl.Float64))
    assert same(compiled_values(f, frame)[0], expected)


def test_given_a_missing_key_when_evaluated_then_the_error_names_it() -> None:
    with pytest.raises(FormulaError, match="no value given for 'b' at column 5") as caught:
        evaluate(parse("a + b"), {"a": 1.0})
    assert caught.value.position == 4


# --- compile_expr over frames ---------------------------------------------------------------------------------


def test_given_a_frame_when_compiled_then_every_row_equals_the_interpreter() -> None:
    frame = pl.DataFrame(
        {
            "arrived": [9, 0, None, 12, 5],
            "requested": [12, 0, 4, None, 5],
            "cycle_days": [1.5, 2.0, 3.25, None, float("nan")],
        },
        schema={"arrived": pl.Int64, "requested": pl.Int64, "cycle_days": pl.Float64},
    )
    texts = [
        "arrived / requested * 100",
        "div(arrived, requested, 0) * 100",
        "round(coalesce(arrived, 0) / max(requested, 1) * 100, 2)",
        "if(cycle_days <= 2 and arrived >= requested, 1.2, 0.9)",
        "max(0, min(100, 100 - cycle_days * 10))",
        "abs(arrived - requested) + -cycle_days",
        "7",
    ]
    for text in texts:
        f = parse(text)
        compiled = compiled_values(f, frame)
        assert len(compiled) == frame.height
        for row, value in zip(frame.iter_rows(named=True), compiled, strict=True):
            assert same(value, evaluate(f, row)), (text, row, value)
    result = frame.select(compile_expr(parse("arrived / requested")).alias("rate"))
    assert result.schema["rate"] == pl.Float64


def test_given_a_column_function_when_compiled_then_names_are_resolved_through_it() -> None:
    frame = pl.DataFrame({"m_rate": [0.5, None], "m_weight": [2.0, 3.0]})
    expr = compile_expr(parse("coalesce(rate, 0) * weight"), column=lambda name: pl.col(f"m_{name}"))
    assert frame.select(expr.alias("x"))["x"].to_list() == [1.0, 0.0]


def test_given_a_missing_column_when_compiled_then_polars_reports_it() -> None:
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        pl.DataFrame({"a": [1.0]}).select(compile_expr(parse("a + b")))


# --- explain --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("((a))", "a"),
        ("(a + b) * c", "(a + b) * c"),
        ("a + (b * c)", "a + b * c"),
        ("(a - b) - c", "a - b - c"),
        ("a - (b - c)", "a - (b - c)"),
        ("a / (b * c)", "a / (b * c)"),
        ("-(a * b)", "-(a * b)"),
        ("(-a) * b", "-a * b"),
        ("- -a", "-(-a)"),
        ("a*-b", "a * -b"),
        ("max( 0,min(100,x) )", "max(0, min(100, x))"),
        ("1e3 + 0.50 + 1.5e-7", "1000 + 0.5 + 1.5e-07"),
        ("if((a > 1) and (not (b < 2)), 1, 0)", "if(a > 1 and not b < 2, 1, 0)"),
        ("if(not (a > 1 and b < 2) or (c == 1), 1, 0)", "if(not (a > 1 and b < 2) or c == 1, 1, 0)"),
        ("if((a > 1 or b > 1) and c > 1, 1, 0)", "if((a > 1 or b > 1) and c > 1, 1, 0)"),
    ],
)
def test_given_a_formula_when_explained_then_it_has_minimal_brackets_and_parses_back(text, expected) -> None:
    f = parse(text)
    assert explain(f) == expected
    assert parse(explain(f)).root == f.root


# --- properties -----------------------------------------------------------------------------------------------

NAMES = ("a", "b", "c")
LITERALS = ("0", "1", "2", "0.5", "2.5", "10", "100", "1e2")


def _bracket(text: str, brackets: bool) -> str:
    return f"({text})" if brackets else text


@functools.cache
def number_texts(depth: int) -> st.SearchStrategy[str]:
    """Formula text of a number. Brackets are sometimes dropped: the text then parses as another tree, still
    well-typed (a bool never sits where a number goes), which exercises precedence too."""
    leaf = st.sampled_from(NAMES + LITERALS)
    if depth == 0:
        return leaf
    sub, cond, brackets = number_texts(depth - 1), bool_texts(depth - 1), st.booleans()
    args = st.lists(sub, min_size=2, max_size=3).map(", ".join)
    return st.one_of(
        leaf,
        st.builds(
            lambda left, op, right, b: f"{_bracket(left, b)} {op} {_bracket(right, b)}",
            sub,
            st.sampled_from("+-*/"),
            sub,
            brackets,
        ),
        st.builds(lambda x, b: f"-{_bracket(x, b)}", sub, brackets),
        st.builds(lambda fn, xs: f"{fn}({xs})", st.sampled_from(["min", "max", "coalesce"]), args),
        st.builds(lambda x: f"abs({x})", sub),
        st.builds(lambda x, n: f"round({x}, {n})", sub, st.integers(0, 6)),
        st.builds(lambda c, x, y: f"if({c}, {x}, {y})", cond, sub, sub),
        st.builds(lambda x, y, d: f"div({x}, {y}, {d})", sub, sub, sub),
    )


@functools.cache
def bool_texts(depth: int) -> st.SearchStrategy[str]:
    """Formula text of a bool."""
    numbers = number_texts(max(depth - 1, 0))
    comparison = st.builds(
        lambda left, op, right: f"{left} {op} {right}",
        numbers,
        st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
        numbers,
    )
    leaf = st.one_of(st.sampled_from(["true", "false"]), comparison)
    if depth == 0:
        return leaf
    sub, brackets = bool_texts(depth - 1), st.booleans()
    return st.one_of(
        leaf,
        st.builds(
            lambda left, op, right, b: f"{_bracket(left, b)} {op} {_bracket(right, b)}",
            sub,
            st.sampled_from(["and", "or"]),
            sub,
            brackets,
        ),
        st.builds(lambda x, b: f"not {_bracket(x, b)}", sub, brackets),
        st.builds(lambda c, x, y: f"if({c}, {x}, {y})", sub, sub, sub),
        st.builds(lambda x, y: f"coalesce({x}, {y})", sub, sub),
    )


# Hundredths up to ±100, zeros, halves and nulls: varied, yet far from overflow after a few products and quotients.
VALUES = st.one_of(
    st.none(),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 0.125, -0.125]),  # halves probe round()
    st.integers(-10_000, 10_000).map(lambda n: n / 100),
)
ROWS = st.lists(st.fixed_dictionaries(dict.fromkeys(NAMES, VALUES)), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(text=number_texts(3), rows=ROWS)
def test_given_random_formulas_and_values_when_compiled_then_each_row_equals_the_interpreter(
    text, rows
) -> None:
    f = parse(text)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(NAMES, pl.Float64))
    compiled = compiled_values(f, frame)
    for row, value in zip(rows, compiled, strict=True):
        expected = evaluate(f, row)
        assert same(value, expected), (text, explain(f), row, value, expected)


@settings(max_examples=200, deadline=None)
@given(text=number_texts(3))
def test_given_random_formulas_when_explained_then_the_text_parses_back_to_the_same_tree(text) -> None:
    f = parse(text)
    again = parse(explain(f))
    assert again.root == f.root
    assert explain(again) == explain(f)
    assert again.names == f.names


# --- the package stays safe and pure --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted(Path(formula_module.__file__).parent.glob("*.py")), ids=lambda path: path.name
)
def test_the_formula_package_never_evaluates_text_as_python(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert "eval(" not in source
    assert "exec(" not in source
    tree = ast.parse(source)
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not called & {"eval", "exec", "compile", "__import__", "getattr"}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported = {name for name in imported if not name.startswith(f"{formula_module.__name__}.")}
    assert imported <= {
        "__future__",
        "collections.abc",
        "dataclasses",
        "enum",
        "math",
        "polars",
        "string",
        "typing",
    }
