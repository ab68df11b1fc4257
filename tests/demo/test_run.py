"""`lifesync demo` on a small synthetic business, against the test database and the sandboxes."""

from __future__ import annotations

import json
import re
import shlex

from click.testing import CliRunner
from sqlalchemy import func, select

from sync.access.tokens import authenticate
from sync.demo.hints import program, reading
from sync.demo.run import run_demo
from sync.ingest.automation import CURSOR_CONNECTION as FIRST_RESPONSE_CURSOR
from sync.quality.duplicates import SCAN_CURSOR
from sync.settings import Settings
from sync.store import model


def run_as_printed(line: str):
    """A hint the demo printed, run through the CLI as a shell would: its VAR=value words are its environment."""
    from sync.cli.main import main

    words = shlex.split(line.partition(" | ")[0])
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == program()
    return CliRunner(env=env).invoke(main, words[1:])


def test_demo_tells_the_whole_story_and_writes_a_report(store, database_url, tmp_path, monkeypatch):
    lines: list[str] = []
    report = tmp_path / "report.html"
    total = run_demo(Settings.from_env({}), people=600, seed=3, database_url=database_url, echo=lines.append,
                     report_path=report)
    text = "\n".join(lines)
    with store.transaction() as s:
        contacts = s.scalar(select(func.count()).select_from(model.Contact))
        merges = s.scalar(select(func.count()).select_from(model.MergeLog))
        lost = s.scalar(select(func.count()).select_from(model.Contact).where(model.Contact.lost_stage.is_not(None)))
        messenger = s.scalar(select(func.count()).select_from(model.Identity).where(model.Identity.kind == "messenger"))
        delivered = dict(s.execute(select(model.Delivery.destination, func.count())
                                   .where(model.Delivery.status == "sent").group_by(model.Delivery.destination)).all())
        ctwa = s.scalar(select(func.count()).select_from(model.Delivery).where(
            model.Delivery.destination == "meta", model.Delivery.status == "sent",
            model.Delivery.response["click_id"].as_string() == "ctwa_clid"))
        suspects = s.scalar(select(func.count()).select_from(model.DuplicatePair))
        cursors = s.scalar(select(func.count()).select_from(model.SyncCursor).where(  # not the review queue's scan
            model.SyncCursor.connection.not_in((SCAN_CURSOR[0], FIRST_RESPONSE_CURSOR))))  # nor first responses
        retracted = s.scalar(select(func.count()).select_from(model.ConversionEvent).where(
            model.ConversionEvent.retracted_at.is_not(None)))
        adjusted = dict(s.execute(select(model.Outbox.destination, func.count()).where(
            model.Outbox.kind == "adjustment", model.Outbox.status == "sent").group_by(model.Outbox.destination)).all())
    # CRM data came through the connectors: cursors for every object of both CRMs
    assert cursors == 5 and "pulled through the HubSpot and Salesforce connectors" in text
    # duplicates across systems were unified (Messenger conversations are people of their own: no e-mail)
    assert total.records > 600 and contacts < total.records and contacts <= 600 * 1.1 + messenger
    assert f"became {contacts:,} contacts; {merges:,} merges" in text
    # the duplicates the identity rules refused to merge wait in the review queue
    assert suspects > 0 and f"{suspects:,} pairs of contacts look like one person" in text
    assert text.index("Lifecycle funnel") < text.index("Lost stages") and lost > 0
    assert "Cold Lead" in text.split("Lost stages")[1]
    # signed webhooks, all accepted; conversions reached every network, Meta's click-to-WhatsApp ones as messaging
    assert re.search(r"Webhooks: [\d,]+ click-to-WhatsApp messages and [1-9][\d,]* agents' replies \(first response: "
                     r"[^()]+ report response\), [\d,]+ click-to-Messenger", text)
    # the agents' replies make the first-response report: most first conversations answered, in several buckets
    with store.transaction() as s:
        answered = s.execute(select(model.ConversationStat.first_response_seconds)).scalars().all()
    waits = [w for w in answered if w is not None]
    assert len(waits) > len(answered) / 2 and min(waits) < 300 < 3600 < max(waits)
    assert ", 0 refused." in text
    # the shop refunded or cancelled some paid orders after their purchases went out: Google was told, Meta could not be
    assert retracted > 0 and adjusted.get("google", 0) > 0 and "meta" not in adjusted
    assert re.search(r"Refunds and cancellations: [1-9][\d,]* posted after the purchases were sent; adjustments: "
                     r"google (expired \d+ )?sent [1-9]", text)
    assert set(delivered) >= {"meta", "tiktok", "google"} and min(delivered[d] for d in ("meta", "tiktok", "google"))
    assert ctwa and f"{ctwa} with a ctwa_clid" in text
    # a second brand: its own shop's bookings reach its own dataset and event set, and it has its own funnel,
    # some of its clients in the salons' funnel too (one person each)
    assert min(delivered.get(d, 0) for d in ("meta-lumen", "tiktok-lumen")) > 0
    shared = re.search(r"Funnel of Lumen Spa \(brand lumen\): ([\d,]+) contacts, ([\d,]+) of them in the Glow Salons "
                       r"funnel too", text)
    assert shared and 0 < int(shared[2].replace(",", "")) <= int(shared[1].replace(",", ""))
    # customers of both brands bought again: each funnel has Repeat Customers
    repeat = re.findall(r"^  Repeat Customer\s+loyalty\s+(\d+)", text, re.M)
    assert len(repeat) == 2 and min(int(n) for n in repeat) > 0
    html = report.read_text()
    assert "<svg" in html and "https://" not in html and str(report.resolve()) in text
    assert_segments_synced(text, html, store, report.parent)
    assert_privacy(text, store)
    # campaign names: every ad id of a referral looked up from the Meta sandbox in batches, the deleted one refused
    with store.transaction() as s:
        names = {r.ad_id: r for r in s.scalars(select(model.AdName))}
        ads = s.scalar(select(func.count(model.Touchpoint.ad_id.distinct())).where(model.Touchpoint.network == "meta"))
    assert len(names) == ads and names["120211000000000201"].error.startswith("Meta code 100/33: Unsupported get")
    named = [n for n in names.values() if n.error is None]
    assert named and all(n.campaign_name and n.adset_name for n in named)
    requests = -(-ads // 50)
    assert re.search(rf"ad names from the ad networks: meta {len(named)} named, 1 refused in {requests} requests", text)
    assert re.search(r"campaign [A-Z][\w ]+ \| Click to (WhatsApp|Messenger) \| Leads \(\d{18}\)", text)
    assert "campaign (unresolved)" in text and "campaign -" not in text
    assert "Click to WhatsApp | Leads (" in html and "(unresolved)" in html

    # every command the closing lines suggest works as printed, on the database the demo filled
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr("sync.cli.serving.serve", lambda *args: None)
    hints = [line.strip() for line in text.split("Try, on the demo's database:\n")[1].splitlines()
             if line.startswith("  ")]
    assert [h.partition(f"{program()} ")[2] for h in hints] == [
        "report funnel", "report quality", "contacts export | head", "config check", "console"]
    assert re.search(rf"dead-letter table \({re.escape(hints[0].partition(' report')[0])} deadletter list\)", text)
    funnel = run_as_printed(hints[0])
    assert funnel.exit_code == 0, funnel.output
    assert_funnel_of(funnel.output, contacts)
    quality = run_as_printed(hints[1])
    assert quality.exit_code == 0 and "Values refused, per mapping and field" in quality.output
    assert re.search(r"^(\d[\d,]*) values the mappings could not use were kept as data-quality issues", text, re.M)
    exported = run_as_printed(hints[2])
    assert exported.exit_code == 0 and exported.output.count('"identities"') == contacts
    assert run_as_printed(hints[3]).exit_code == 0
    console = run_as_printed(hints[4])
    token = re.search(r"lsk_\S+", console.output).group()
    assert console.exit_code == 0 and authenticate(store, token, None).role == "admin"
    if database_url.startswith("sqlite:///"):  # the demo's own file, read with --demo (SQLite by nature)
        monkeypatch.setattr("sync.demo.run.DEMO_DB", database_url.removeprefix("sqlite:///"))
        monkeypatch.setattr("sync.demo.run.DEMO_CONFIG", str(tmp_path / "lifesync-demo-config"))
        funnel = run_as_printed(reading(None, Settings.from_env({}))("report funnel"))
        assert funnel.exit_code == 0, funnel.output
        assert_funnel_of(funnel.output, contacts)
        # --demo reads the configuration the demo wrote beside its report: its second brand and its segments
        lumen = run_as_printed(reading(None, Settings.from_env({}))("report funnel --brand lumen"))
        assert lumen.exit_code == 0 and "Repeat Customer" in lumen.output, lumen.output
        listed = run_as_printed(reading(None, Settings.from_env({}))("segments list"))
        assert listed.exit_code == 0 and "lumen-clients" in listed.output, listed.output


def assert_privacy(text: str, store) -> None:
    """Consent came from the sources, the policies withheld and restricted some deliveries, and the person the demo
    forgot is gone: out of their audiences, deleted in the CRMs, not recreated, in no table."""
    block = text.split("\nPrivacy (")[1].split("\nHTML report")[0]
    consent = {p: (int(g.replace(",", "")), int(w.replace(",", ""))) for p, g, w in
               re.findall(r"^  consent (\w+) +granted +([\d,]+) +withdrawn +([\d,]+)$", block, re.M)}
    assert set(consent) == {"ad_user_data", "ad_personalization", "marketing_email", "marketing_messages"}
    assert all(granted > 0 and withdrawn > 0 for granted, withdrawn in consent.values())
    # WhatsApp users who stopped marketing messages withdrew more of them than the shop's checkbox alone
    assert consent["marketing_messages"][1] > consent["marketing_email"][1]
    with store.transaction() as s:
        policies = dict(s.execute(select(model.Delivery.policy, func.count()).where(
            model.Delivery.destination == "meta").group_by(model.Delivery.policy)).all())
        erasures = s.scalars(select(model.Erasure)).all()
        suppressions = s.scalar(select(func.count()).select_from(model.Suppression))
    assert min(policies.get(p, 0) for p in ("send", "restricted", "drop")) > 0
    assert re.search(rf"^  meta +drop {policies['drop']:,}, restricted {policies['restricted']:,}, "
                     rf"send {policies['send']:,}$", block, re.M)
    [erasure] = erasures
    assert suppressions == erasure.counts["suppressions"] > 0 and "deleted" in json.dumps(erasure.upstream)
    assert f"forgot contact {erasure.contact_id} (erasure {erasure.id}, by demo:dpo)" in block
    assert block.count("    ok: ") == 4 and "MISMATCH" not in block


def assert_segments_synced(text: str, html: str, store, folder) -> None:
    """Every segment has members, each destination added some, and its sandbox holds exactly those synced."""
    block = text.split("Segments synced to the sandboxes")[1].split("\nPrivacy (")[0]
    sizes = dict(re.findall(r"^  ([\w-]+) \(.*\): ([\d,]+) members$", block, re.M))
    assert set(sizes) == {"hot-leads-ctwa", "lapsed-customers", "lumen-clients"}
    assert all(int(n.replace(",", "")) > 0 for n in sizes.values())
    lines = re.findall(r"^    ([\w-]+) +added ([\d,]+), removed 0, skipped ([\d,]+), failed 0; "
                       r"the sandbox holds ([\d,]+) of the ([\d,]+) members synced \(", block, re.M)
    assert {d for d, *_ in lines} == {"meta-hot-leads", "csv-hot-leads", "google-lapsed", "hubspot-lapsed",
                                      "meta-lumen-clients"} and "MISMATCH" not in block
    with store.transaction() as s:
        recorded = dict(s.execute(select(model.AudienceMemberState.destination, func.count())
                                  .where(model.AudienceMemberState.state == "added")
                                  .group_by(model.AudienceMemberState.destination)).all())
        left = [name.split("/")[1] for e in s.scalars(select(model.Erasure)) for name in e.counts["audiences"]]
    for destination, added, _skipped, held, synced in lines:  # the person the demo forgot afterwards left theirs
        assert 0 < int(added) == int(held) == int(synced) == recorded[destination] + left.count(destination), \
            destination
    assert (folder / "lifesync-demo-audiences" / "hot-leads-ctwa.csv").is_file()
    section = html[html.index("<h2>Segments and their audiences</h2>"):]
    assert all(f"<td>{d}</td>" in section for d, *_ in lines) and "Lumen Spa clients (lumen-clients, brand lumen)" \
        in section


def assert_funnel_of(output: str, contacts: int) -> None:
    """The funnel table of ``contacts`` contacts, with contacts in its first stage."""
    entered = re.search(r"^\s+New Lead\s+\w+\s+(\d+)\s+(\d+)", output, re.MULTILINE)
    assert entered and int(entered[1]) > 0 and int(entered[2]) > 0, output
    assert f"{contacts} contacts;" in output


def test_the_demo_at_debug_logs_no_secret_and_no_personal_value(store, database_url, tmp_path):
    """Every line of `lifesync demo` at DEBUG (urllib3's request lines included): 0 secrets, 0 e-mails or phones."""
    import hashlib
    import hmac
    import os
    import subprocess
    import sys

    from sync.demo import generate_business
    from sync.demo.story import SECRETS
    from sync.sandbox.ads.google_ads import GoogleAdsSandbox
    from sync.sandbox.ads.meta import MetaSandbox
    from sync.sandbox.ads.tiktok import TikTokSandbox
    from sync.sandbox.hubspot.sandbox import HubSpotSandbox
    from sync.sandbox.salesforce.sandbox import SalesforceSandbox
    from sync.sandbox.server import SandboxServer

    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
    env["LIFESYNC_LOG_LEVEL"] = "DEBUG"
    out = subprocess.run([sys.executable, "-c", "from sync.cli.main import main; main()", "demo", "--people", "40",
                          "--seed", "3", "--database-url", database_url],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=True)
    logged = out.stderr + out.stdout
    assert "DEBUG urllib3.connectionpool" in out.stderr and "/meta/v26.0/1234567890/events" in out.stderr

    servers = SandboxServer(hubspot=HubSpotSandbox(), salesforce=SalesforceSandbox(), meta=MetaSandbox(),
                            tiktok=TikTokSandbox(), google=GoogleAdsSandbox())
    secrets = set(Settings.from_env({**servers.env(), **SECRETS}).secret_values())
    meta = MetaSandbox
    secrets |= {hmac.new(meta.APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
                for token in (meta.ACCESS_TOKEN, meta.MARKETING_TOKEN)}  # appsecret_proofs
    assert len(secrets) >= 12
    business = generate_business(seed=3, people_count=40)
    personal = {p.email for p in business.people} | {p.phone_e164 for p in business.people}
    personal |= {str(v) for _, v in business._identity_values() if v and len(str(v)) >= 6}
    leaked = sorted(v for v in secrets | personal if v in logged)
    assert leaked == []
