"""Campaign names: which ad, ad set and campaign an ad id of a touchpoint belongs to.

Referrals carry an ad id and nothing more (click-to-WhatsApp ``source_id``, Messenger and
Instagram ``ad_id``). This package asks the ad network what the ad is called and where it sits,
keeps the answer in the ``ad_names`` table, and the attribution reports group by it:

- ``lookup``: what a reader returns (``AdInfo`` per named ad, the network's refusal per ad it
  would not name, the ids to try again later) and the ``AdReader`` protocol;
- ``meta``: the Marketing API, ads read ≤ 50 at a time in one Graph batch request;
- ``tiktok``: the TikTok Marketing API's ``ad/get``, ≤ 100 ad ids a request;
- ``cache``: which ad ids need a lookup (never looked up, or looked up longer ago than the
  refresh age: answered and refused alike) and saving what came back;
- ``resolve``: the job step — the readers the settings enable, the stale ids a batch at a time.

**Google** is not resolved: a ``gclid`` names a click, not a campaign; the campaign behind it
is only found through a Google Ads API ``click_view`` query (GAQL, one day at a time, with a
developer token and the advertiser's OAuth consent;
https://developers.google.com/google-ads/api/fields/v22/click_view), which lifesync does not
hold for reporting. Google touchpoints that carry a ``campaign_id`` (from a mapping reading
``utm_campaign`` or ``gad_campaignid``) are reported under it as they are; the others count as
unresolved, never as "no ad".
"""
