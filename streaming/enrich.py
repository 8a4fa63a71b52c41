"""Geo (from the IP address) and browser/OS/device (from the user agent) for web events.

Runs in the feeder, once per event as it lands, not in dbt: the lookups need Python
libraries and a database file that ship on PyPI (GeoLite2 via ``maxminddb-geolite2`` read
with ``maxminddb``, ``ua-parser`` with its built-in rules), which a Spark Thrift server
cannot run, and doing them at ingest means re-sessionizing after late data never parses a
user agent twice. No network call is made. The result is kept beside the raw value in bronze
as JSON text (column ``enrichment``); staging parses it.
"""

from __future__ import annotations

import ipaddress
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

# at module level: pyspark reads the pandas UDF's type hints to pick its kind
import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import Column

FIELDS = ("country", "state", "city", "os", "browser", "device")
ENRICHMENT_DDL = ", ".join(f"{f} string" for f in FIELDS)


@lru_cache(maxsize=1)
def _geo_reader() -> Any:
    with warnings.catch_warnings():
        # the package still imports pkg_resources; harmless here
        warnings.simplefilter("ignore")
        from geolite2 import geolite2

    return geolite2.reader()


@lru_cache(maxsize=65536)
def geo(ip: str | None) -> dict[str, str | None]:
    """Country, first subdivision and city of an IPv4/IPv6 address (None when unknown).

    Cached per Python worker: the same visitors come back batch after batch. Callers must
    not modify the returned dict.
    """
    empty: dict[str, str | None] = {"country": None, "state": None, "city": None}
    if not ip:
        return empty
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return empty
    record = _geo_reader().get(ip) or {}
    subdivisions = record.get("subdivisions") or [{}]
    return {
        "country": record.get("country", {}).get("iso_code"),
        "state": subdivisions[0].get("names", {}).get("en"),
        "city": record.get("city", {}).get("names", {}).get("en"),
    }


@lru_cache(maxsize=4096)
def user_agent(ua: str | None) -> dict[str, str | None]:
    """Browser, OS and device families of a user-agent string (None when absent)."""
    if not ua:
        return {"os": None, "browser": None, "device": None}
    from ua_parser import parse

    result = parse(ua)
    return {
        "os": result.os.family if result.os else "Other",
        "browser": result.user_agent.family if result.user_agent else "Other",
        "device": result.device.family if result.device else "Other",
    }


def lookup(ip: str | None, ua: str | None) -> dict[str, str | None]:
    return {**geo(ip), **user_agent(ua)}


def _distinct_lookup(
    values: pd.Series, lookup_one: Callable[[str | None], dict[str, str | None]]
) -> pd.DataFrame:
    """``lookup_one`` once per distinct value, spread back over the rows (a batch repeats
    the same visitors' IPs and a few dozen browsers thousands of times)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    found = pd.DataFrame.from_records(
        [lookup_one(None if pd.isna(v) else v) for v in uniques], index=range(len(uniques))
    )
    return found.take(codes).reset_index(drop=True)


def _enrich_batch(ips: pd.Series, uas: pd.Series) -> pd.DataFrame:
    if ips.empty:
        return pd.DataFrame({f: pd.Series(dtype=object) for f in FIELDS})
    both = pd.concat([_distinct_lookup(ips, geo), _distinct_lookup(uas, user_agent)], axis=1)
    return both[list(FIELDS)]


def enrichment_json(ip: Column, ua: Column) -> Column:
    """Spark column: the lookups as JSON text, through a pandas UDF."""
    from pyspark.sql import functions as F

    udf = F.pandas_udf(_enrich_batch, returnType=ENRICHMENT_DDL)  # type: ignore[attr-defined]
    return F.to_json(udf(ip, ua))
