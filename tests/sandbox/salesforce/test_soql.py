"""SOQL subset: parsing, binding against the sandbox schema, filter and sort semantics."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sync.sandbox.salesforce.schema import catalog
from sync.sandbox.salesforce.soql import BoolOp, Compare, InList, Like, Not, SoqlError, parse
from sync.sandbox.salesforce.soql_eval import like_regex, predicate, sort_rows

CATALOG = catalog()


def bound(text: str):
    return parse(text, CATALOG)


@pytest.mark.parametrize(("text", "sobject", "paths"), [
    ("SELECT Id FROM Lead", "Lead", ["Id"]),
    ("select id, email from lead", "Lead", ["Id", "Email"]),
    ("SELECT Id, Account.Name FROM Contact", "Contact", ["Id", "Account.Name"]),
    ("SELECT Name, account.name, Contact.Email FROM Opportunity", "Opportunity", ["Name", "Account.Name",
                                                                                   "Contact.Email"]),
    ("SELECT Lifesync_Id__c, ConvertedContact.Email FROM Lead", "Lead", ["Lifesync_Id__c",
                                                                        "ConvertedContact.Email"]),
])
def test_select_lists_resolve_to_canonical_names(text, sobject, paths):
    query = bound(text)
    assert query.sobject == sobject
    assert [f.path for f in query.fields] == paths
    assert not query.count


def test_count_order_and_limit():
    query = bound("SELECT COUNT() FROM Lead WHERE IsDeleted = false")
    assert query.count and query.fields == ()
    query = bound("SELECT Id FROM Lead ORDER BY SystemModstamp DESC NULLS LAST, Id ASC LIMIT 10")
    assert [(o.field.path, o.descending, o.nulls_first) for o in query.order] == [
        ("SystemModstamp", True, False), ("Id", False, True)]
    assert query.limit == 10


@pytest.mark.parametrize(("where", "value"), [
    ("Email = 'a\\'b@x.example'", "a'b@x.example"),
    ("Email = 'tab\\there'", "tab\there"),
    ("Email = 'back\\\\slash'", "back\\slash"),
    ("SystemModstamp > 2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, tzinfo=UTC)),
    ("SystemModstamp > 2026-11-27T10:00:00.000+0000", datetime(2026, 11, 27, 10, tzinfo=UTC)),
    ("SystemModstamp > 2026-11-27T12:00:00+02:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
    ("ConvertedDate = 2026-11-27", date(2026, 11, 27)),
    ("IsConverted = true", True),
    ("IsConverted = FALSE", False),
    ("Email = null", None),
])
def test_literals(where, value):
    cond = bound(f"SELECT Id FROM Lead WHERE {where}").where
    assert isinstance(cond, Compare)
    assert cond.value == value


def test_amount_literal_is_a_number():
    cond = bound("SELECT Id FROM Opportunity WHERE Amount >= 1500.5").where
    assert cond.value == 1500.5 and cond.op == ">="


def test_condition_tree():
    cond = bound("SELECT Id FROM Lead WHERE (Email LIKE '%@x.example' OR Phone != null) AND NOT "
                 "Status IN ('Closed - Converted') AND Company NOT IN ('A', 'B')").where
    assert isinstance(cond, BoolOp) and cond.op == "AND" and len(cond.items) == 3
    first, second, third = cond.items
    assert isinstance(first, BoolOp) and first.op == "OR"
    assert isinstance(first.items[0], Like)
    assert isinstance(second, Not) and isinstance(second.item, InList) and not second.item.negate
    assert isinstance(third, InList) and third.negate and third.values == ("A", "B")


def test_not_equal_spellings():
    assert bound("SELECT Id FROM Lead WHERE Email <> 'x'").where.op == "!="


@pytest.mark.parametrize(("text", "code", "fragment"), [
    ("SELECT Id, Foo FROM Lead", "INVALID_FIELD", "No such column 'Foo' on entity 'Lead'"),
    ("SELECT Id FROM Lead WHERE Bar = 'x'", "INVALID_FIELD", "No such column 'Bar' on entity 'Lead'"),
    ("SELECT Id FROM Lead ORDER BY Baz", "INVALID_FIELD", "No such column 'Baz'"),
    ("SELECT Owner.Name FROM Lead", "INVALID_FIELD", "Didn't understand relationship 'Owner'"),
    ("SELECT Account.Nope FROM Contact", "INVALID_FIELD", "No such column 'Nope' on entity 'Account'"),
    ("SELECT Id FROM Widget", "INVALID_TYPE", "sObject type 'Widget' is not supported"),
    ("SELECT Id, id FROM Lead", "INVALID_FIELD", "duplicate field selected: Id"),
    ("SELECT Id FROM Lead WHERE SystemModstamp > '2026-11-27T10:00:00Z'", "INVALID_FIELD",
     "must be of type dateTime and should not be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE SystemModstamp > 2026-11-27", "INVALID_FIELD", "must be of type dateTime"),
    ("SELECT Id FROM Lead WHERE ConvertedDate = 2026-11-27T10:00:00Z", "INVALID_FIELD", "must be of type date "),
    ("SELECT Id FROM Lead WHERE IsConverted = 'true'", "INVALID_FIELD", "must be of type boolean"),
    ("SELECT Id FROM Lead WHERE Email = 5", "INVALID_FIELD", "must be of type string and should be enclosed"),
    ("SELECT Id FROM Opportunity WHERE Amount > '5'", "INVALID_FIELD", "must be of type double"),
    ("SELECT Id FROM Lead WHERE IsConverted LIKE 'x'", "INVALID_FIELD", "invalid operator"),
    ("SELECT Id FROM Lead WHERE Email = 'a' AND Phone = 'b' OR City = 'c'", "MALFORMED_QUERY",
     "unexpected token: 'OR'"),
    ("SELECT FROM Lead", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
    ("SELECT Id Lead", "MALFORMED_QUERY", "unexpected token: 'Lead'"),
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
    ("SELECT Id FROM Lead WHERE Email = 'open", "MALFORMED_QUERY", "unexpected token"),
    ("SELECT Id FROM Lead WHERE Email IN ()", "MALFORMED_QUERY", "unexpected token: ')'"),
    ("SELECT Id FROM Lead LIMIT x", "MALFORMED_QUERY", "unexpected token: 'x'"),
    ("SELECT Id FROM Lead LIMIT 5 garbage", "MALFORMED_QUERY", "unexpected token: 'garbage'"),
    ("SELECT Id FROM Lead ORDER BY Id NULLS", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
    ("SELECT Id FROM Lead WHERE SystemModstamp > 2026-11-27T10:00:00.000 0000", "MALFORMED_QUERY",
     "unexpected token"),
])
def test_refusals(text, code, fragment):
    with pytest.raises(SoqlError) as info:
        bound(text)
    assert info.value.code == code
    assert fragment in str(info.value)


def test_error_points_at_the_column():
    with pytest.raises(SoqlError) as info:
        bound("SELECT Id, Foo FROM Lead")
    assert "\nSELECT Id, Foo FROM Lead\n           ^\nERROR at Row:1:Column:12\n" in str(info.value)


# --- semantics -----------------------------------------------------------------------------------

ROWS = [
    {"Id": "00Q5g0000000001AAA", "Email": "Ann@X.example", "Phone": None, "IsConverted": False, "N": 1},
    {"Id": "00Q5g0000000002AAA", "Email": "bob@y.example", "Phone": "+1", "IsConverted": True, "N": 2},
    {"Id": "00Q5g0000000003AAA", "Email": None, "Phone": "+2", "IsConverted": False, "N": 3},
]


def get(row, ref):
    return row.get(ref.field)


def matching(where: str) -> list[int]:
    cond = bound(f"SELECT Id FROM Lead WHERE {where}").where
    test = predicate(cond, get)
    return [r["N"] for r in ROWS if test(r)]


@pytest.mark.parametrize(("where", "expected"), [
    ("Email = 'ann@x.example'", [1]),  # text equality ignores case
    ("Email != 'ann@x.example'", [2, 3]),  # != matches nulls, as in SOQL
    ("Email = null", [3]),
    ("Email != null", [1, 2]),
    ("Email > 'b'", [2]),  # ordering comparisons never match nulls
    ("Email IN ('BOB@Y.EXAMPLE', 'nobody@z.example')", [2]),
    ("Email NOT IN ('bob@y.example')", [1, 3]),
    ("Email IN ('bob@y.example', null)", [2, 3]),
    ("Email LIKE '%.EXAMPLE'", [1, 2]),
    ("Email LIKE 'a_n@%'", [1]),
    ("IsConverted = true", [2]),
    ("NOT IsConverted = true", [1, 3]),
    ("(Phone = null OR IsConverted = true) AND Email != null", [1, 2]),
    ("Id = '00Q5g0000000002'", [2]),  # a 15-character id matches its 18-character form
    ("Id > '00Q5g0000000001AAA'", [2, 3]),
])
def test_filter_semantics(where, expected):
    assert matching(where) == expected


def test_like_escapes():
    assert like_regex(r"100\%").fullmatch("100%")
    assert not like_regex(r"100\%").fullmatch("1000")
    assert like_regex(r"a\_b").fullmatch("a_b") and not like_regex(r"a\_b").fullmatch("axb")


def test_sort_nulls_and_directions():
    rows = [{"Id": str(i), "Email": e, "N": i} for i, e in enumerate(["b@x", None, "A@x", "c@x", None])]
    order = bound("SELECT Id FROM Lead ORDER BY Email").order
    assert [r["N"] for r in sort_rows(rows, order, get)] == [1, 4, 2, 0, 3]  # nulls first, case-insensitive
    order = bound("SELECT Id FROM Lead ORDER BY Email DESC").order
    assert [r["N"] for r in sort_rows(rows, order, get)] == [1, 4, 3, 0, 2]  # nulls first by default, even DESC
    order = bound("SELECT Id FROM Lead ORDER BY Email DESC NULLS LAST").order
    assert [r["N"] for r in sort_rows(rows, order, get)] == [3, 0, 2, 1, 4]


def test_sort_by_two_keys():
    rows = [{"Id": f"00Q5g00000000{i:02d}AAA", "Company": c, "N": i}
            for i, c in enumerate(["b", "a", "b", "a", "c"])]
    order = bound("SELECT Id FROM Lead ORDER BY Company DESC, Id DESC").order
    assert [r["N"] for r in sort_rows(rows, order, get)] == [4, 2, 0, 3, 1]
