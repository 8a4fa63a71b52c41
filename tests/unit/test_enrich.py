"""Geo and user-agent lookups: offline, from the databases that ship on PyPI."""

from __future__ import annotations

from streaming.enrich import FIELDS, lookup

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def test_known_address_and_browser():
    got = lookup("81.2.69.160", FIREFOX_LINUX)
    assert got["country"] == "GB"
    assert got["state"] == "England"
    assert got["browser"] == "Firefox"
    assert got["os"] == "Linux"
    assert set(got) == set(FIELDS)


def test_mobile_device():
    got = lookup("2.125.160.216", SAFARI_IPHONE)
    assert (got["browser"], got["os"], got["device"]) == ("Mobile Safari", "iOS", "iPhone")


def test_missing_or_bad_input_gives_nulls_not_errors():
    assert lookup(None, None) == dict.fromkeys(FIELDS)
    got = lookup("not-an-ip", "")
    assert got["country"] is None and got["browser"] is None
    assert lookup("10.0.0.1", FIREFOX_LINUX)["country"] is None
