"""No private key, password or token is committed: every tracked file is scanned.

Test fixtures that need a throwaway password say so on the line with `not-a-secret`."""

from __future__ import annotations

import re
import subprocess

import pytest

from tooling.settings import REPO_ROOT

ALLOW = "not-a-secret"
PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    # a literal password in configuration (a value read from the environment is fine)
    "password in config": re.compile(
        r"""(?ix)^\s*[\w.-]*(?:password|passwd|secret|api[_-]?key|token)\s*[:=]\s*
        (?!\s*$)(?!.*(?:env_var|\$\{|os\.environ|getenv|none|null|""|''))["']?[^\s"']{6,}"""
    ),
}
CONFIG_SUFFIXES = (".yml", ".yaml", ".properties", ".cfg", ".ini", ".toml", ".env", ".conf")


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=False)
    if out.returncode != 0:
        pytest.fail("git ls-files failed: the secret scan needs the repository's git metadata")
    return [p for p in out.stdout.decode().split("\0") if p]


def _findings(path: str, text: str) -> list[str]:
    found = []
    for n, line in enumerate(text.splitlines(), start=1):
        if ALLOW in line:
            continue
        for what, pattern in PATTERNS.items():
            if what == "password in config" and not path.endswith(CONFIG_SUFFIXES):
                continue
            if pattern.search(line):
                found.append(f"{path}:{n}: {what}")
    return found


def test_no_secret_is_committed():
    found = []
    for path in _tracked():
        file = REPO_ROOT / path
        if not file.is_file() or file.stat().st_size > 2_000_000:
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += _findings(path, text)
    assert not found, "secrets committed:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("k.pem", "-----BEGIN RSA " + "PRIVATE KEY-----"),  # split: the hook scans this file
        ("a.py", "key = 'AKIA" + "ABCDEFGHIJKLMNOP'"),
        ("a.py", "token = 'ghp_" + "a" * 36 + "'"),
        ("client.properties", "sasl.password=hunter22"),
        ("profiles.yml", "      password: s3cretvalue"),
    ],
)
def test_the_scan_finds_what_it_looks_for(path, line):
    assert _findings(path, line)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("profiles.yml", "      password: \"{{ env_var('SPARK_THRIFT_PASSWORD', '') or none }}\""),
        ("client.properties", "sasl.password=${KAFKA_PASSWORD}"),
        ("a.py", "password = 'x'  # not-a-secret"),
    ],
)
def test_the_scan_passes_what_is_no_secret(path, line):
    assert not _findings(path, line)
