from pathlib import Path

import pytest

from sync.errors import ConfigError, ConfigIssue
from sync.mappings import load_mapping, load_mappings

HEAD = "source: hubspot\nobject: contacts\nrecord_id: id\n"

# (case id, file text, key path, line, message fragment)
INVALID = [
    ("unknown top-level key", HEAD + "bogus: 1\n", "bogus", 4,
     "unknown key; expected one of: activities, consent, conversions, creates_contacts, deleted, fields, identities,"),
    ("creates_contacts not a boolean", HEAD + "creates_contacts: sometimes\n", "creates_contacts", 4,
     "expected true or false"),
    ("unknown key in a field spec", HEAD + "fields:\n  email:\n    path: properties.email\n    tranforms: [email]\n",
     "fields.email.tranforms", 7, "unknown key; expected one of: constant, default, direction, out_path, path,"),
    ("unknown key in a touchpoint",
     HEAD + "touchpoints:\n  - channel: {constant: whatsapp}\n    clicks:\n      gclid: g\n",
     "touchpoints[0].clicks", 6, "unknown key; expected one of: ad_id, adset_id, campaign_id, channel, click_ids"),
    ("unknown key in a condition", HEAD + "identities:\n  - kind: email\n    path: e\n    when: {path: x, is: 1}\n",
     "identities[0].when.is", 7, "unknown key; expected one of: equals, in, path, present"),
    ("unknown transform", HEAD + "fields:\n  first_name: {path: f, transforms: [strip, titlecase]}\n",
     "fields.first_name.transforms[1]", 5, "unknown transform 'titlecase'; expected one of:"),
    ("bad transform args", HEAD + "fields:\n  phone:\n    path: p\n    transforms:\n      - e164: {regio: US}\n",
     "fields.phone.transforms[0]", 8,
     "transform e164: unknown argument 'regio' (expected on_invalid, region, region_path)"),
    ("missing transform arg", HEAD + "fields:\n  first_name: {path: n, transforms: [split_name]}\n",
     "fields.first_name.transforms[0]", 5, "transform split_name: missing required argument 'part'"),
    ("transform item with two keys", HEAD + "fields:\n  a: {path: n, transforms: [{strip: {}, lower: {}}]}\n",
     "fields.a.transforms[0]", 5, "expected a transform name or a one-key mapping"),
    ("bad path syntax", HEAD + "identities:\n  - {kind: email, path: 'properties..email'}\n",
     "identities[0].path", 5, "invalid path 'properties..email': empty key at position 12"),
    ("bad path in the short form", HEAD + "fields:\n  city: 'a[x]'\n",
     "fields.city", 5, "invalid path 'a[x]': bad bracket [x]"),
    ("out direction with irreversible transform",
     HEAD + "fields:\n  first_name:\n    path: n\n    transforms: [{split_name: {part: first}}]\n    direction: out\n",
     "fields.first_name.transforms", 7, "direction out needs reversible transforms; split_name cannot be reversed"),
    ("both direction needs a plain out path",
     HEAD + "fields:\n  company: {path: 'cf[name=Company].value', direction: both}\n",
     "fields.company.out_path", 5, "has [..] steps; set an out_path with plain keys"),
    ("out_path with list steps", HEAD + "fields:\n  company: {path: c, out_path: 'a[0]', direction: both}\n",
     "fields.company.out_path", 5, "out_path 'a[0]' must contain only plain keys"),
    ("constant with direction out", HEAD + "fields:\n  lead_source: {constant: Ads, direction: out}\n",
     "fields.lead_source.direction", 5, "direction out with a constant needs an out_path"),
    ("bad direction", HEAD + "fields:\n  city: {path: c, direction: sideways}\n",
     "fields.city.direction", 5, "expected in, out or both"),
    ("missing record_id", "source: hubspot\nobject: contacts\n", "record_id", 1, "required key is missing"),
    ("missing source", "object: contacts\nrecord_id: id\n", "source", 1, "required key is missing"),
    ("uppercase source", "source: HubSpot\nobject: contacts\nrecord_id: id\n", "source", 1,
     "expected a lowercase system name"),
    ("no source or two sources", HEAD + "fields:\n  city: {path: c, constant: x}\n",
     "fields.city", 5, "expected exactly one of path, paths or constant"),
    ("condition with two tests", HEAD + "stage: {constant: New Lead, when: {path: r, present: true, equals: 1}}\n",
     "stage.when", 4, "expected exactly one of equals, in or present"),
    ("present must be a boolean", HEAD + "stage: {constant: New Lead, when: {path: r, present: yes}}\n",
     "stage.when.present", 4, "expected true or false"),
    ("identity without kind", HEAD + "identities:\n  - {path: e}\n", "identities[0].kind", 5,
     "required key is missing"),
    ("touchpoint without channel", HEAD + "touchpoints:\n  - ad_id: x\n", "touchpoints[0].channel", 5,
     "required key is missing"),
    ("field name not canonical-looking", HEAD + "fields:\n  First Name: f\n", "fields.First Name", 5,
     "names must be lowercase letters, digits and _"),
    ("identities not a list", HEAD + "identities: {kind: email}\n", "identities", 4, "expected a list"),
    ("duplicate key", HEAD + "fields:\n  city: c\n  city: d\n", "fields.city", 6,
     "duplicate key 'city' (first written at line 5)"),
    ("YAML syntax error", HEAD + "fields:\n  city: {path: c\n  zip: z\n", "", 6, "invalid YAML:"),
    ("YAML tab indentation", HEAD + "fields:\n\tcity: c\n", "", 5, "invalid YAML:"),
    ("top level is a list", "- source: hubspot\n", "", 1, "expected a mapping with source, object, record_id"),
    ("empty file", "", "", 1, "expected a mapping with source, object, record_id"),
    ("constant must be a scalar", HEAD + "fields:\n  city: {constant: [a, b]}\n", "fields.city.constant", 5,
     "expected a single value"),
    ("null identity", HEAD + "identities:\n  - null\n", "identities[0]", 5, "expected a mapping, not null"),
    ("null condition", HEAD + "stage: {constant: x, when: null}\n", "stage.when", 4, "expected a mapping, not null"),
    ("impossible date", HEAD + "stage: {constant: 2026-02-30}\n", "stage.constant", 4,
     "cannot read value '2026-02-30'"),
    # conversion adjustments (a refund, a cancellation) find their conversion by kind and order id
    ("adjustment without order_id", HEAD + "modified_at: m\nconversions:\n  - kind: {constant: purchase}\n"
     "    adjust: retract\n", "conversions[0].order_id", 6, "adjust: retract finds the conversion it adjusts by "
     "kind and order id; add order_id"),
    ("restatement without value", HEAD + "modified_at: m\nconversions:\n  - kind: {constant: purchase}\n"
     "    adjust: restate\n    order_id: id\n", "conversions[0].value", 6,
     "adjust: restate sets the conversion's new value; add value"),
    ("unknown adjustment", HEAD + "modified_at: m\nconversions:\n  - kind: {constant: purchase}\n"
     "    adjust: refund\n    order_id: id\n", "conversions[0].adjust", 7, "expected retract or restate"),
    ("adjustment without a time", HEAD + "conversions:\n  - kind: {constant: purchase}\n"
     "    adjust: retract\n    order_id: id\n", "conversions[0].occurred_at", 5,
     "an adjustment needs a time: add occurred_at here, or modified_at to the mapping"),
]


@pytest.mark.parametrize(("text", "key_path", "line", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_mapping_files(tmp_path, text, key_path, line, message):
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_mapping(file)
    issues = info.value.issues
    assert len(issues) == 1, issues
    issue = issues[0]
    assert (issue.file, issue.path, issue.line) == (str(file), key_path, line)
    assert message in issue.message


def test_a_recursive_alias_is_an_issue_not_a_crash(tmp_path):
    file = tmp_path / "loop.yaml"
    file.write_text(HEAD + "identities: &loop\n  - *loop\n")
    with pytest.raises(ConfigError) as info:
        load_mapping(file)
    assert ("identities[0]", "an alias cannot contain itself") in [(i.path, i.message) for i in info.value.issues]


def test_every_error_of_a_file_is_reported(tmp_path):
    file = tmp_path / "three.yaml"
    file.write_text(
        "source: hubspot\n"
        "object: contacts\n"
        "record_id: id\n"
        "colour: blue\n"
        "fields:\n"
        "  email: {path: properties.email, transforms: [emial]}\n"
        "identities:\n"
        "  - {kind: phone, path: 'phones[', transforms: [e164]}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(str(file))
    assert [(i.path, i.line) for i in info.value.issues] == [
        ("colour", 4),
        ("fields.email.transforms[0]", 6),
        ("identities[0].path", 8),
    ]
    assert all(i.file == str(file) for i in info.value.issues)
    assert f"{file}:6: fields.email.transforms[0]: unknown transform 'emial'" in str(info.value)


def test_issue_is_a_config_issue(tmp_path):
    file = tmp_path / "m.yaml"
    file.write_text(HEAD + "extra: 1\n")
    with pytest.raises(ConfigError) as info:
        load_mapping(file)
    assert isinstance(info.value.issues[0], ConfigIssue)


def test_yes_no_on_off_stay_text(tmp_path):
    """Only true/false are booleans, so vendor values like `no` can be map keys."""
    file = tmp_path / "m.yaml"
    file.write_text(HEAD + "stage:\n  path: s\n  transforms: [{map: {values: {no: Cold Lead, on: Hot Lead}}}]\n")
    assert load_mapping(file).stage_values() == {"Cold Lead", "Hot Lead"}


def test_anchors_and_merge_keys_work(tmp_path):
    file = tmp_path / "m.yaml"
    file.write_text(HEAD + "fields:\n  first_name: &name {path: f, transforms: [strip], direction: both}\n"
                    "  last_name: {<<: *name, path: l}\n")
    mapping = load_mapping(file)
    assert dict(mapping.fields)["last_name"].write_path.text == "l"
    assert mapping.out_fields() == {"first_name", "last_name"}


def test_loaded_mapping_is_named_after_the_file(tmp_path):
    file = tmp_path / "hubspot_contacts.yaml"
    file.write_text(HEAD)
    mapping = load_mapping(file)
    assert (mapping.name, mapping.file, mapping.source, mapping.object) == (
        "hubspot_contacts", str(file), "hubspot", "contacts")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read file"):
        load_mapping(tmp_path / "nope.yaml")


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_load_mappings_collects_issues_of_every_file(tmp_path):
    _write(tmp_path / "mappings", "a.yaml", HEAD + "nope: 1\n")
    _write(tmp_path / "mappings", "b.yaml", "source: whatsapp\nobject: message\n")
    _write(tmp_path / "mappings", "c.yaml", "source: respondio\nobject: contact\nrecord_id: id\n")
    with pytest.raises(ConfigError) as info:
        load_mappings(tmp_path)
    assert [(Path(i.file).name, i.path) for i in info.value.issues] == [("a.yaml", "nope"), ("b.yaml", "record_id")]


def test_load_mappings_rejects_two_files_for_one_source_and_object(tmp_path):
    first = _write(tmp_path / "mappings", "contacts.yaml", HEAD)
    second = _write(tmp_path / "mappings", "contacts_v2.yaml", "# copy\n" + HEAD)
    with pytest.raises(ConfigError) as info:
        load_mappings(tmp_path)
    (issue,) = info.value.issues
    assert (issue.file, issue.path, issue.line) == (str(second), "object", 3)
    assert str(first) in issue.message and "'hubspot', object 'contacts'" in issue.message


def test_load_mappings_reports_yml_files_instead_of_loading_them(tmp_path):
    _write(tmp_path / "mappings", "a.yaml", HEAD)
    stray = _write(tmp_path / "mappings", "b.yml", "source: whatsapp\nobject: message\nrecord_id: id\n")
    with pytest.raises(ConfigError) as info:
        load_mappings(tmp_path)
    (issue,) = info.value.issues
    assert (issue.file, issue.path) == (str(stray), "")
    assert "must end in .yaml; rename it to b.yaml" in issue.message


def test_load_mappings_keys_by_source_and_object(tmp_path):
    _write(tmp_path / "mappings", "a.yaml", HEAD)
    _write(tmp_path / "mappings", "b.yaml", "source: whatsapp\nobject: message\nrecord_id: 'messages[0].id'\n")
    assert sorted(load_mappings(tmp_path)) == [("hubspot", "contacts"), ("whatsapp", "message")]
    assert load_mappings(tmp_path / "elsewhere") == {}
