"""The console's "Forget this person": admins only, a confirmation page first, then the counts; in Arabic too."""

from __future__ import annotations

from support.audiences import make_contacts
from support.console import csrf_of

from sync.store import model


def test_only_admins_are_offered_it_and_it_erases_after_the_confirmation(signed_in, store):
    [ana] = make_contacts(store, [{"email": "ana@example.com", "first_name": "Ana"}])
    page, confirm = f"/console/contacts/{ana}", f"/console/contacts/{ana}/forget"
    for role in ("viewer", "operator"):
        assert "Forget this person" not in signed_in[role].get(page).get_data(as_text=True)
        assert signed_in[role].get(confirm).status_code == 403
        assert signed_in[role].post(confirm, data={"csrf_token": csrf_of(signed_in[role], page)}).status_code == 403
    admin = signed_in["admin"]
    assert confirm in admin.get(page).get_data(as_text=True)
    asked = admin.get(confirm)
    assert asked.status_code == 200 and "This cannot be undone" in asked.get_data(as_text=True)
    with store.transaction() as s:
        assert s.get(model.Contact, ana) is not None  # the confirmation page erases nothing
    done = admin.post(confirm, data={"csrf_token": csrf_of(admin, confirm)})
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and f"Contact {ana} was forgotten" in text and "ana@example.com" not in text
    with store.transaction() as s:
        assert s.get(model.Contact, ana) is None
    assert admin.get(confirm).status_code == 404


def test_the_confirmation_reads_in_arabic(signed_in, store):
    [ana] = make_contacts(store, [{"email": "ana@example.com"}])
    answer = signed_in["admin"].get(f"/console/contacts/{ana}/forget", headers={"Accept-Language": "ar"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'dir="rtl"' in text and "انسَ هذا الشخص" in text
