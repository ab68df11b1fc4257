"""The ad-network registry: exactly the networks lifesync ships, each declaring everything shared code asks of it."""

import ast
from datetime import date, timedelta
from pathlib import Path

import pytest

import sync.attribution
from sync.attribution.destination import DestinationConfig
from sync.attribution.hashing import FIELDS
from sync.attribution.networks import NETWORKS, google, meta, network, tiktok
from sync.config.conversions import CANONICAL_KINDS
from sync.http.versions import CURRENT, ENDED
from sync.settings import SETTINGS

ALL = pytest.mark.parametrize("net", list(NETWORKS.values()), ids=list(NETWORKS))
# every way of reaching every network: Google's two transports, the others as they are
TRANSPORTS = [(f"{n.name}/{t}", n.transport(t)) for n in NETWORKS.values() for t in (n.transports or [None])]
EVERY = pytest.mark.parametrize("net", [net for _, net in TRANSPORTS], ids=[name for name, _ in TRANSPORTS])


def test_the_registry_finds_every_network_module_sorted_by_name():
    assert list(NETWORKS) == ["google", "meta", "tiktok"]
    assert [NETWORKS[name] for name in NETWORKS] == [google.NETWORK, meta.NETWORK, tiktok.NETWORK]


def test_a_network_module_dropped_into_the_package_is_registered(tmp_path, monkeypatch):
    import sync.attribution.networks as registry

    (tmp_path / "snap.py").write_text(
        "import dataclasses\n"
        "from sync.attribution.networks import meta\n"
        "NETWORK = dataclasses.replace(meta.NETWORK, name='snap', vendor='Snap Conversions API')\n")
    monkeypatch.setattr(registry, "__path__", [*registry.__path__, str(tmp_path)])
    try:
        found = registry._discover()
    finally:
        import sys
        sys.modules.pop("sync.attribution.networks.snap", None)
    assert list(found) == ["google", "meta", "snap", "tiktok"] and found["snap"].vendor == "Snap Conversions API"
    assert network("google") is google.NETWORK
    with pytest.raises(ValueError, match=r"unknown ad network 'snap'; expected one of \['google', 'meta', 'tiktok'\]"):
        network("snap")


def test_defaults_are_todays_api_versions_and_hosts():
    assert {n.name: (n.base_url, n.api_version) for n in NETWORKS.values()} == {
        "meta": ("https://graph.facebook.com", "v26.0"),
        "tiktok": ("https://business-api.tiktok.com", "v1.3"),
        "google": ("https://datamanager.googleapis.com", "v1"),
    }
    ads = network("google").transport("ads_api")
    assert (ads.base_url, ads.api_version, ads.settings_platform) == ("https://googleads.googleapis.com", "v26",
                                                                      "google_ads")
    assert {n.name: n.settings_platform for n in NETWORKS.values()} == {
        "meta": "meta", "tiktok": "tiktok_events", "google": "google_ads"}
    assert {n.name: n.max_batch for n in NETWORKS.values()} == {"meta": 1000, "tiktok": 1000, "google": 2000}


CHECKED = date(2026, 12, 6)  # the day the version tables were last checked against their sources


@EVERY
def test_every_network_declares_its_versions_with_sources_and_its_default_is_one_of_them(net):
    assert net.versions.find(net.api_version) is not None
    assert net.versions.versions and all(v.source.startswith("https://") for v in net.versions.versions)
    names = [v.name for v in net.versions.versions]
    assert len(set(names)) == len(names)


@EVERY
def test_the_settings_table_gives_each_network_its_default_version(net):
    defaults = {name: default for name, default, _ in SETTINGS}
    if net.version_setting:  # Data Manager's v1 is the transport's own: no setting chooses it
        assert defaults[f"LIFESYNC_{net.settings_platform.upper()}_API_VERSION"] == net.api_version


@pytest.mark.parametrize("net", [meta.NETWORK, tiktok.NETWORK, google.NETWORK], ids=["meta", "tiktok", "google"])
def test_a_default_version_is_current_and_does_not_end_within_a_year(net):
    version = net.versions.find(net.api_version)
    assert net.versions.check(net.api_version, CHECKED).state == CURRENT
    assert version.ends is None or version.ends > CHECKED + timedelta(days=365)


def test_the_google_ads_api_default_is_the_newest_current_version_and_no_version_outlives_a_year():
    ads = google.NETWORK.transport("ads_api")
    assert ads.api_version == ads.versions.available(CHECKED)[0].name == "v26"
    assert ads.versions.check(ads.api_version, CHECKED).state == CURRENT
    assert ads.versions.check("v18", CHECKED).state == ENDED and ads.versions.find("v18").ends == date(2025, 8, 20)
    lived = [(v.ends - v.released).days for v in ads.versions.versions if v.released and v.ends]
    assert lived and max(lived) <= 400  # about a year each: why Data Manager is the default


@ALL
def test_every_canonical_kind_has_an_event_name(net):
    assert set(net.event_names) == set(CANONICAL_KINDS)
    assert all(isinstance(name, str) and name.strip() for name in net.event_names.values())


@ALL
def test_declared_data_is_complete(net):
    assert net.user_data.network == net.name  # the normalise cache keys on it
    assert net.user_data.plain_fields <= FIELDS
    assert net.vendor and net.settings_platform and net.required_settings
    assert net.base_url.startswith("https://") and net.api_version
    assert net.touches.click_ids and len(set(net.touches.click_ids)) == len(net.touches.click_ids)
    assert net.sender.max_batch > 0 and callable(net.build)
    assert net.delivery_summary({}) == {"click_id": None, "keys": []}
    assert isinstance(net.event_label({}), str)


@ALL
def test_configure_gives_a_destination_config_from_the_required_settings_alone(net):
    required = {key: f"{key}-123456" for key in net.required_settings}
    fields = net.configure(lambda _key: None, required, net.name)
    dest = DestinationConfig(name=net.name, network=net.name, base_url=net.base_url, api_version=net.api_version,
                             **fields)
    assert dest.account_id and dest.credentials
    assert set(dest.credentials.values()) <= set(required.values())
    assert net.max_event_age(dest) is None or net.max_event_age(dest) > 0


def test_a_click_id_belongs_to_one_network():
    seen = [click for net in NETWORKS.values() for click in net.touches.click_ids]
    assert len(seen) == len(set(seen))


def test_no_shared_attribution_module_names_a_network():
    root = Path(sync.attribution.__file__).parent
    named = {}
    for path in sorted(root.glob("*.py")):
        literals = {node.value for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        if literals & set(NETWORKS):
            named[path.name] = sorted(literals & set(NETWORKS))
    assert named == {}
