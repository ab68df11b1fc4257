"""Input files for `lifesync ingest`: a bad record is a dead letter naming file, line and record; never a traceback.

The fuzz test writes files of good HubSpot contacts mixed with records no reader should take
(not JSON, nested 50,000 deep, numbers of thousands of digits, ``NaN``, ``1e400``), as JSON
lines or one array, and runs the real command: every record is counted, each bad one is a dead
letter whose reason names the file and where it was, the good ones land, the exit code is 1
exactly when something was unreadable, and no exception escapes. Readable contacts may hold
what no column can (a NUL in any text, an e-mail longer than identities.value): each is a dead
letter naming its field (``sync.ingest.storable``), and the rest of its batch still lands.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sync.cli.main import main
from sync.connectors.jsonread import JsonInputError
from sync.ingest.readfile import records
from sync.store import model

CONTACT = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "hubspot" / "contact.json").read_text())
BAD = {  # label -> (raw record text, what its dead letter says)
    "deep": ("[" * 50_000 + "]" * 50_000, "nested more than 64 deep"),
    "bigint": ('{"id": ' + "7" * 5000 + "}", "a number of 5,000 characters"),
    "nan": ('{"id": "n", "properties": {"email": NaN}}', "NaN is not a JSON value"),
    "overflow": ('{"id": 1e400}', "the number 1e400 is out of range"),
}
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30) | st.text(min_size=300, max_size=2000)
GOOD = st.fixed_dictionaries({"firstname": TEXT, "city": TEXT | st.just("cut \ud83d")},
                             optional={"email_length": st.integers(240, 400)})  # a local part that long
RECORDS = st.lists(GOOD | st.sampled_from(sorted(BAD)), min_size=1, max_size=8)
_files = itertools.count()  # contacts of every example distinct: a re-read record refreshes its open letter


def email(n: int, drawn: dict[str, Any]) -> str:
    suffix = f"{n}@example.com"
    return "p" * max(1, drawn.get("email_length", 0) - len(suffix)) + suffix


def unstorable(n: int, drawn: dict[str, Any]) -> str | None:
    """What the dead letter of a readable contact says, when no column can hold it."""
    if len(email(n, drawn)) > 255:
        return "characters long; its column (identities.value) holds at most 255"
    if "\x00" in drawn["firstname"] + drawn["city"]:
        return "holds a NUL character, which the database cannot store"
    return None


def file_text(form: str, drawn: list[dict[str, Any] | str], first: int) -> str:
    """The file of the drawn records: good contacts (distinct ids and e-mails) and the raw text of bad ones."""
    items = [BAD[r][0] if isinstance(r, str) else
             json.dumps({**CONTACT, "id": str(first + n),
                         "properties": {**CONTACT["properties"], "firstname": r["firstname"], "city": r["city"],
                                        "email": email(first + n, r)}})
             for n, r in enumerate(drawn)]
    return "\n".join(items) + "\n" if form == "lines" else "[\n" + ",\n".join(items) + "\n]\n"


def dead_letters(store) -> list[str]:
    with store.transaction() as s:
        return list(s.scalars(select(model.DeadLetter.reason).order_by(model.DeadLetter.id)))


def contacts(store) -> int:
    with store.transaction() as s:
        return s.scalar(select(func.count()).select_from(model.Contact))


def test_a_file_of_good_and_unreadable_records_dead_letters_each_bad_one_and_lands_the_rest(
        store, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("LIFESYNC_CONFIG_DIR", raising=False)

    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(form=st.sampled_from(["lines", "array"]), drawn=RECORDS)
    def run(form: str, drawn: list[dict[str, Any] | str]) -> None:
        first = 1000 * (next(_files) + 1)
        bad = [BAD[r][1] for r in drawn if isinstance(r, str)]
        refused = [says for n, r in enumerate(drawn) if isinstance(r, dict)
                   and (says := unstorable(first + n, r)) is not None]
        path = tmp_path / f"in.{'jsonl' if form == 'lines' else 'json'}"
        path.write_text(file_text(form, drawn, first), encoding="utf-8", errors="surrogatepass")
        before, stored = len(dead_letters(store)), contacts(store)
        res = CliRunner().invoke(main, ["ingest", "hubspot", "contacts", str(path)])
        assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
        assert res.exit_code == (1 if bad else 0), res.output
        counts = json.loads(res.output[:res.output.rindex("}") + 1])
        assert (counts["records"], counts["dead_lettered"]) == (len(drawn), len(bad) + len(refused)), res.output
        new = dead_letters(store)[before:]
        unread = [r for r in new if str(path) in r]  # then the refused ones, in file order
        assert len(unread) == len(bad) and all(says in r for r, says in zip(unread, bad, strict=True))
        assert all(says in r for r, says in zip(new[len(unread):], refused, strict=True)), new
        assert contacts(store) - stored == len(drawn) - len(bad) - len(refused)

    run()


def test_lines_name_their_line_and_array_items_their_record_and_line():
    lines = list(records("in.jsonl", '{"id": 1}\n\n{oops\n{"id": NaN}\n'))
    assert lines[0] == {"id": 1}
    assert [(u.where, u.reason) for u in lines[1:]] == [
        ("in.jsonl line 3", "not valid JSON (Expecting property name enclosed in double quotes) (column 2)"),
        ("in.jsonl line 4", "NaN is not a JSON value (column 8)")]
    items = list(records("in.json", '[{"id": 1},\n {"id": 1e999},\n {"id": 2},\n {oops}, {"id": 3} {"id": 4}]'))
    assert items[0] == {"id": 1} and items[2] == {"id": 2} and items[4] == {"id": 3} and len(items) == 6
    assert [items[n].where for n in (1, 3, 5)] == ["in.json record 2 (line 2)", "in.json record 4 (line 4)",
                                                   "in.json record 6 (line 4) and everything after it"]


def test_a_file_that_is_not_json_at_all_is_one_error_not_a_dead_letter_a_line():
    with pytest.raises(JsonInputError, match=r"expected a JSON array, one JSON value, or JSON lines .* 'id,email"):
        list(records("in.csv", "id,email\n1,a@example.com\n"))
    with pytest.raises(JsonInputError, match="not valid UTF-8"):
        list(records("in.json", b'[{"name": "Caf\xe9"}]'))
