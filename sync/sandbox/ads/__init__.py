"""The ad-network sandboxes: Meta Conversions API, TikTok Events API, Google Ads conversion uploads.

One module per network (``meta``, ``tiktok``, ``google_ads`` with ``google_ads_parse``), each a
sandbox class and ``create_app``; ``common`` holds what they share (hash checks, counters,
rate window, dedup).
"""
