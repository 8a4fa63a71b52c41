"""Synthetic web page views that look like real visitors: sessions of clicks, then silence.

A visitor (fixed host, IP, browser and account) comes back for several visits; inside a visit
page views are seconds to minutes apart, between visits there are minutes to hours. That shape
is what the downstream sessionization has to recover, so it is built in on purpose.
"""

from __future__ import annotations

import ipaddress
import random
import uuid
from datetime import datetime, timedelta

from streaming.events import Event, check_count, geometric, log_uniform, ms_to_ts, window_ms

HOST_WEIGHTS = {
    "www.dataexpert.io": 0.35,
    "zachwilson.techcreator.io": 0.22,
    "zachwilson.tech": 0.18,
    "bootcamp.techcreator.io": 0.15,
    "lulu.techcreator.io": 0.10,
}

_BLOG = [
    "/blog/how-to-become-a-data-engineer",
    "/blog/fact-vs-dimension-tables",
    "/blog/spark-shuffle-explained",
    "/blog/kafka-for-analytics-engineers",
    "/blog/cumulative-table-design",
]
_LESSONS = [
    "/lessons/dimensional-data-modeling",
    "/lessons/spark-fundamentals",
    "/lessons/kafka-streaming",
    "/lessons/data-quality",
]
PATHS = {
    "www.dataexpert.io": [
        "/",
        "/pricing",
        "/courses",
        "/courses/data-engineering-bootcamp",
        "/courses/analytics-engineering",
        "/courses/ai-engineering",
        "/dashboard",
        "/community",
        *_LESSONS,
        *_BLOG[:2],
    ],
    "zachwilson.techcreator.io": ["/", "/about", "/newsletter", "/contact", *_BLOG],
    "zachwilson.tech": ["/", "/about", "/newsletter", "/talks", *_BLOG],
    "bootcamp.techcreator.io": [
        "/",
        "/apply",
        "/curriculum",
        "/schedule",
        "/faq",
        "/dashboard",
        *_LESSONS,
    ],
    "lulu.techcreator.io": ["/", "/about", "/portfolio", "/contact", *_BLOG[2:]],
}
_CRAWLER_PATHS = ["/robots.txt", "/sitemap.xml"]

EXTERNAL_REFERRERS = [
    "https://www.google.com/",
    "https://www.linkedin.com/",
    "https://t.co/",
    "https://www.youtube.com/",
    "https://news.ycombinator.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://www.reddit.com/r/dataengineering/",
    "https://zachwilson.tech/blog/how-to-become-a-data-engineer",
]

# (user agent, weight, crawler ip range or None for ordinary visitors)
USER_AGENTS: list[tuple[str, float, str | None]] = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        0.24,
        None,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        0.14,
        None,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3.1 Safari/605.1.15",
        0.06,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.3.1 Mobile/15E148 Safari/604.1",
        0.14,
        None,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.3.1 Mobile/15E148 Safari/604.1",
        0.03,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Mobile Safari/537.36",
        0.11,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
        0.03,
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80",
        0.07,
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
        0.04,
        None,
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0", 0.03, None),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        0.03,
        None,
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        0.05,
        "66.249.64.0/19",
    ),
    (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        0.03,
        "157.55.32.0/20",
    ),
]

ACCEPT_LANGUAGES = [
    "en-US,en;q=0.9",
    "en-US,en;q=0.9",
    "en-US,en;q=0.9",
    "en-GB,en;q=0.9",
    "en-IN,en;q=0.9,hi;q=0.8",
    "de-DE,de;q=0.9,en;q=0.8",
    "fr-FR,fr;q=0.9,en;q=0.8",
    "pt-BR,pt;q=0.9,en;q=0.8",
    "es-ES,es;q=0.9,en;q=0.8",
]
_ACCEPT_HTML = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)

# is_global alone lets multicast (224/4) and all of 192.0.0/24 through, so the ranges that must
# never look like a visitor are listed explicitly as well.
NON_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)

_HOSTS = list(HOST_WEIGHTS)
_HOST_WEIGHTS = list(HOST_WEIGHTS.values())
_UA_WEIGHTS = [weight for _, weight, _ in USER_AGENTS]

LOGGED_OUT_SHARE = 0.40  # visitors who arrive without a session cookie
CAN_LOG_IN_SHARE = 0.35  # of those, the ones with an account who may sign in mid-visit
LOGIN_PER_VISIT = 0.30

PAGE_GAP_S = (2.0, 240.0)
VISIT_GAP_S = (6 * 60.0, 8 * 3600.0)
MEAN_VISITS, MAX_VISITS = 2.5, 12
MEAN_PAGES, MAX_PAGES = 4.0, 40


def is_public_ipv4(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.version == 4 and ip.is_global and not any(ip in net for net in NON_PUBLIC)


def _random_public_ip(rng: random.Random, within: str | None) -> str:
    net = ipaddress.ip_network(within) if within else None
    while True:
        if net is not None:
            candidate = str(net[rng.randrange(net.num_addresses)])
        else:
            candidate = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        if is_public_ipv4(candidate):
            return candidate


class _Pool:
    """Keeps IPs and account ids unique per run so a visitor is identifiable downstream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ips: set[str] = set()
        self.user_ids: set[str] = set()

    def ip(self, crawler_range: str | None) -> str:
        for _ in range(50):
            candidate = _random_public_ip(self.rng, crawler_range)
            if candidate not in self.ips:
                break
        else:
            # A crawler range can fill up on huge runs; any public address will do then.
            while (candidate := _random_public_ip(self.rng, None)) in self.ips:
                pass
        self.ips.add(candidate)
        return candidate

    def user_id(self) -> str:
        while (candidate := str(self.rng.randint(1, 9_999_999))) in self.user_ids:
            pass
        self.user_ids.add(candidate)
        return candidate


def _headers(user_agent: str, language: str | None, referrer: str | None) -> dict[str, str]:
    headers = {"accept": _ACCEPT_HTML, "accept-encoding": "gzip, deflate, br"}
    if language is not None:
        headers["accept-language"] = language
    headers["user-agent"] = user_agent
    if referrer is not None:
        headers["referer"] = referrer
    return headers


def _visitor_events(rng: random.Random, pool: _Pool, lo: int, hi: int) -> list[Event]:
    """All in-window page views of one new visitor, in time order."""
    host = rng.choices(_HOSTS, weights=_HOST_WEIGHTS)[0]
    user_agent, _, crawler_range = rng.choices(USER_AGENTS, weights=_UA_WEIGHTS)[0]
    crawler = crawler_range is not None
    ip = pool.ip(crawler_range)
    language = None if crawler else rng.choice(ACCEPT_LANGUAGES)
    if crawler:
        account, user_id = None, None
    elif rng.random() < LOGGED_OUT_SHARE:
        account = pool.user_id() if rng.random() < CAN_LOG_IN_SHARE else None
        user_id = None
    else:
        account = user_id = pool.user_id()
    paths = PATHS[host] + (_CRAWLER_PATHS if crawler else [])
    referrers = [r for r in EXTERNAL_REFERRERS if f"//{host}/" not in r]

    events: list[Event] = []
    t = rng.randrange(lo, hi)
    for visit in range(geometric(rng, MEAN_VISITS, MAX_VISITS)):
        if visit:
            t += round(log_uniform(rng, *VISIT_GAP_S) * 1000)
        pages = geometric(rng, MEAN_PAGES, MAX_PAGES)
        login_at = -1
        if (
            user_id is None
            and account is not None
            and pages >= 2
            and rng.random() < LOGIN_PER_VISIT
        ):
            login_at = rng.randrange(pages - 1)
        url: str | None = None
        for page in range(pages):
            if page:
                t += round(log_uniform(rng, *PAGE_GAP_S) * 1000)
            if t >= hi:
                return events
            previous = url
            if page == login_at:
                url = "/login"
            elif page == 0:
                # Many visits start at the home page, the rest wherever a search or a share pointed.
                url = "/" if rng.random() < 0.4 else rng.choice(paths)
            else:
                url = rng.choice([p for p in paths if p != previous])
            if previous is None:
                referrer = None if crawler or rng.random() < 0.35 else rng.choice(referrers)
            else:
                # Some browsers and privacy extensions strip the referrer even for internal links.
                referrer = None if rng.random() < 0.1 else f"https://{host}{previous}"
            events.append(
                {
                    "event_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "url": url,
                    "referrer": referrer,
                    "user_agent": user_agent,
                    "headers": _headers(user_agent, language, referrer),
                    "host": host,
                    "ip": ip,
                    "user_id": user_id,
                    "event_time": t,
                }
            )
            if page == login_at:
                # The session cookie outlives the visit, so later visits stay logged in too.
                user_id = account
    return events


def generate_web_events(count: int, seed: int, start: datetime, span: timedelta) -> list[Event]:
    """`count` page views inside [start, start+span), sorted by event_time, same output per seed."""
    check_count(count)
    lo, hi = window_ms(start, span)
    rng = random.Random(seed)
    pool = _Pool(rng)
    events: list[Event] = []
    while len(events) < count:
        # Cutting the last visitor short (rather than dropping the latest events overall) keeps
        # the time distribution flat up to the end of the window.
        events.extend(_visitor_events(rng, pool, lo, hi)[: count - len(events)])
    events.sort(key=lambda e: e["event_time"])
    for e in events:
        e["event_time"] = ms_to_ts(e["event_time"])
    return events
