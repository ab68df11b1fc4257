"""The synthetic-people generator the sandboxes seed from."""

from __future__ import annotations

import dataclasses
import re

import phonenumbers
import pytest

from sync.sandbox.people import Person, people


def test_same_seed_gives_the_same_people_and_another_seed_other_people():
    first, again, other = list(people(300, 7)), list(people(300, 7)), list(people(300, 8))
    assert first == again
    assert first != other


def test_a_longer_run_starts_with_the_same_people():
    assert list(people(1000, 3))[:50] == list(people(50, 3))


def test_emails_are_unique_and_under_reserved_example_domains():
    emails = [p.email for p in people(5000, 11)]
    assert len(set(emails)) == len(emails)
    for email in emails:
        assert re.fullmatch(r"[a-z0-9._]+@[a-z0-9-]+\.(example|example\.com|example\.net|example\.org)|"
                            r"[a-z0-9._]+@example\.(com|net|org)", email), email


def test_phones_are_valid_e164_numbers_of_the_persons_country():
    for person in people(2000, 5):
        number = phonenumbers.parse(person.phone)
        assert phonenumbers.is_valid_number(number), person.phone
        assert phonenumbers.region_code_for_number(number) == person.country_code
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == person.phone


def test_people_cover_several_countries_with_their_cities_and_companies():
    crowd = list(people(1000, 1))
    assert {p.country_code for p in crowd} == {"US", "GB", "ES", "MX", "AE"}
    by_country = {p.country_code: p for p in crowd}
    assert by_country["ES"].country == "Spain"
    assert all(p.company and p.city and p.first_name and p.last_name and p.job_title for p in crowd)


def test_person_is_frozen():
    person = next(people(1, 1))
    assert isinstance(person, Person)
    with pytest.raises(dataclasses.FrozenInstanceError):
        person.email = "x@example.com"  # type: ignore[misc]


def test_zero_people_is_empty():
    assert list(people(0, 1)) == []
