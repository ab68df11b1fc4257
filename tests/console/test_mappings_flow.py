"""In a real browser: open a mapping, break it and see the issue at its line, fix it, preview it against a contact's
last record, save it with a comment, find the revision in the history and roll it back."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select
from support.console import axe_violations as violations
from support.console import browser_sign_in, new_token

from sync.config.revisions import Revisions
from sync.ingest.preview import preview_effect
from sync.ingest.samples import last_record
from sync.store import model

DOC = "mappings/whatsapp_message.yaml"
SPLIT = "{split_name: {part: first}}"  # the first-name transform of the demo's WhatsApp mapping
WHOLE = 'first_name: {path: "contacts[0].profile.name", transforms: [strip]}'


def a_contact_the_edit_changes(store) -> tuple[int, str]:
    """A demo contact whose last WhatsApp message gives a whole name, and that name (the edit's new first name)."""
    revisions = Revisions(store, None)
    text = revisions.read(DOC).text
    edited = revisions.trial({DOC: text.replace(f"transforms: [{SPLIT}]}}", "transforms: [strip]}", 1)})
    mapping = edited.mappings[("whatsapp", "message")]
    with store.sessions() as session:
        ids = session.scalars(select(model.Identity.contact_id).where(model.Identity.kind == "whatsapp")
                              .distinct().order_by(model.Identity.contact_id)).all()
    for contact in ids:
        record = last_record(store, edited, contact, "whatsapp", "message")["record"]
        fields = preview_effect(store, edited, mapping, record)["contacts"][0]["fields"]
        if any(change["field"] == "first_name" for change in fields):
            return contact, record["contacts"][0]["profile"]["name"]
    raise AssertionError("no demo contact's first name comes from a whole WhatsApp name")


def replace_in_editor(page, old: str, new: str) -> int:
    """Select ``old`` in the CodeMirror editor and type ``new`` over it, as a person would; its (1-based) line."""
    line = page.evaluate("""([old]) => {
        const cm = document.querySelector('.CodeMirror').CodeMirror;
        for (let n = 0; n < cm.lineCount(); n++) {
            const at = cm.getLine(n).indexOf(old);
            if (at < 0) continue;
            cm.focus();
            cm.setSelection({line: n, ch: at}, {line: n, ch: at + old.length});
            return n + 1;
        }
        return 0;
    }""", [old])
    assert line, f"{old!r} is not in the editor"
    page.keyboard.type(new)
    return line


def test_break_fix_preview_save_and_roll_back_a_mapping(page, live_server, shot):
    store = live_server.store
    original = Revisions(store, None).read(DOC).text
    contact, whole_name = a_contact_the_edit_changes(store)
    browser_sign_in(page, new_token(store, "operator"), "/console/mappings")
    page.get_by_role("link", name=DOC).click()
    editor = page.locator(".CodeMirror")
    expect(editor).to_be_visible()  # the text area became a CodeMirror editor
    assert page.locator(".CodeMirror .cm-atom, .CodeMirror .cm-string").count() > 0  # YAML highlighted

    # an unknown transform: marked in the gutter at its line and listed under the editor
    line = replace_in_editor(page, SPLIT, "no_such_transform")
    issue = page.locator(f'#issues li[data-line="{line}"]')
    expect(issue).to_contain_text(f"Line {line}")
    expect(issue).to_contain_text("no_such_transform")
    marked = page.evaluate("""(line) => {
        const info = document.querySelector('.CodeMirror').CodeMirror.lineInfo(line - 1);
        return !!(info.gutterMarkers && info.gutterMarkers['CodeMirror-lint-markers']);
    }""", line)
    assert marked, "no lint marker in the gutter at the issue's line"
    expect(page.locator(".CodeMirror-lint-marker-error")).to_have_count(1)
    page.evaluate("document.querySelector('.CodeMirror').CodeMirror.setCursor(0, 0)")
    issue.get_by_role("button", name=f"Line {line}").click()  # the issue takes the cursor to its line
    assert page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getCursor().line") == line - 1
    shot(page, "mappings-issue-at-line", full_page=True)
    assert violations(page) is None, violations(page)  # WCAG 2.1 AA, with the editor and its issues

    # fixed: the issues go, the markers too
    replace_in_editor(page, "no_such_transform", "strip")
    expect(page.locator("#issues")).to_contain_text("No issues")
    expect(page.locator(".CodeMirror-lint-marker-error")).to_have_count(0)

    # preview against the contact's last record: the first name's winner changes, nothing is written
    page.get_by_label("A contact's last record: contact id").fill(str(contact))
    page.get_by_label("A contact's last record: contact id").press("Enter")  # runs the preview, not the save
    result = page.locator("#preview-result")
    expect(result).to_contain_text("Preview through whatsapp/message")
    expect(result).to_contain_text(f"the last one whatsapp delivered for contact {contact}")
    expect(result.locator("tr", has=page.locator('th:text-is("first_name")'))).to_contain_text(whole_name)
    assert Revisions(store, None).history(DOC) == []
    shot(page, "mappings-preview", full_page=True)
    assert violations(page) is None, violations(page)

    # save with a comment: a revision, active at once
    page.get_by_label("Comment (why this change)").fill("first name: the whole WhatsApp name")
    page.get_by_role("button", name="Save as a new revision").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as revision")
    saved = Revisions(store, None).read(DOC)
    assert saved.origin == "revision" and WHOLE in saved.text

    # the history shows it with its diff
    page.get_by_role("link", name="History").click()
    revision = page.locator(f"#revision-{saved.revision_id}")
    expect(revision).to_contain_text("first name: the whole WhatsApp name")
    expect(revision.locator(".diff-add")).to_have_count(1)  # the one line changed (line breaks kept as they were)
    expect(revision.locator(".diff-add")).to_contain_text(WHOLE)
    shot(page, "mappings-history")
    assert violations(page) is None, violations(page)

    # roll back to the baseline file, after confirming what is undone
    page.get_by_role("link", name="Roll back to the baseline file…").click()
    expect(page.locator(".diff")).to_contain_text(WHOLE)
    assert violations(page) is None, violations(page)
    page.get_by_label("Comment (why roll back)").fill("back to the file")
    page.get_by_role("button", name="Roll back").click()
    expect(page.get_by_role("status")).to_contain_text("is active now")
    restored = Revisions(store, None).read(DOC)
    assert restored.text == original and restored.revision_id != saved.revision_id
    expect(page.locator(f"#revision-{restored.revision_id}")).to_contain_text("back to the file")
    shot(page, "mappings-rolled-back")


def test_a_viewer_is_offered_no_save_and_gets_403_saving_anyway(page, live_server):
    browser_sign_in(page, new_token(live_server.store, "viewer"), f"/console/mappings/edit/{DOC}")
    expect(page.locator(".CodeMirror")).to_be_visible()
    assert page.get_by_role("button", name="Save as a new revision").count() == 0
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.request.post(f"/console/mappings/edit/{DOC}", form={"text": "x", "base_revision": "",
                                                                     "csrf_token": csrf})
    assert answer.status == 403


def test_in_arabic_the_page_mirrors_but_the_yaml_stays_left_to_right(page, live_server, shot):
    browser_sign_in(page, new_token(live_server.store, "viewer"), f"/console/mappings/edit/{DOC}")
    page.get_by_role("button", name="العربية").click()
    page.wait_for_selector("html[dir=rtl]")
    expect(page.locator(".CodeMirror")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('main')).direction") == "rtl"
    assert page.evaluate("getComputedStyle(document.querySelector('.CodeMirror-code')).direction") == "ltr"
    expect(page.get_by_role("button", name="افحص")).to_be_visible()  # "Check", from the catalogue
    shot(page, "mappings-edit-ar")
    assert violations(page) is None, violations(page)
    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # usable at 360 px: no sideways scrolling
    shot(page, "mappings-edit-ar-360")


def test_without_javascript_the_plain_form_checks_and_saves(browser, live_server):
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        browser_sign_in(page, new_token(live_server.store, "operator"), f"/console/mappings/edit/{DOC}")
        assert page.locator(".CodeMirror").count() == 0  # the plain text area
        text = page.get_by_label("Text (YAML)")
        original = text.input_value()
        text.fill(original.replace(SPLIT, "no_such_transform", 1))
        page.get_by_role("button", name="Check").click()
        line = next(n for n, row in enumerate(text.input_value().splitlines(), 1) if "no_such_transform" in row)
        expect(page.locator(f'#issues li[data-line="{line}"]')).to_contain_text(f"Line {line}")
        text.fill(original + "\n# checked without JavaScript\n")
        page.get_by_label("Comment (why this change)").fill("plain form")
        page.get_by_role("button", name="Save as a new revision").click()
        expect(page.get_by_role("status")).to_contain_text("Saved as revision")
        assert Revisions(live_server.store, None).read(DOC).text == original + "\n# checked without JavaScript\n"
    finally:
        context.close()
