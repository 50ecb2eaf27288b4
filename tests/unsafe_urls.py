"""The SSRF table of the first release: every URL an outbound call must never be made to.

Send time (tests/postbacks/test_urlsafety.py) and save time on every surface that takes an
outbound URL (tests/partners/test_urlsafety_at_save.py) use the same table.
"""

from __future__ import annotations

# Every spelling of an address we must never call. Written without a port: the tests that send
# add the local receiver's port to the loopback ones, to prove nothing reaches it.
NON_PUBLIC_URLS = [
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::1]/",
    "http://localhost/",
    "http://api.localhost/",
    "http://0.0.0.0/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://169.254.1.1/",
    "http://[fd00::1]/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
]
METADATA_URLS = ["http://169.254.169.254/latest/meta-data", "http://[::ffff:169.254.169.254]/"]
MALFORMED_URLS = [
    "ftp://partner.example/pb",
    "file:///etc/passwd",
    "partner.example/pb",
    "http://user:pass@example.com/pb",
    "http://token@example.com/pb",
    "http:///pb",
    "http://partner.example:99999/pb",
    "http://999999999999/",
    "http://partner.example/pb?x=a b",
]
LOOPBACK_HOSTS = ["127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]"]

# The same addresses written as postback templates, with macros in the path and the query
# (where macros are allowed) and, for some, a port.
NON_PUBLIC_TEMPLATES = [
    f"{url.rstrip('/')}{':8443' if index % 2 else ''}/pb?click={{click_id}}&sum={{payout}}"
    for index, url in enumerate(NON_PUBLIC_URLS)
]
METADATA_TEMPLATES = [
    "http://169.254.169.254/latest/meta-data/iam?click={click_id}",
    "http://[::ffff:169.254.169.254]:80/pb?click={click_id}",
]

# Refused at save whatever OUTBOUND_ALLOW_PRIVATE says; the rest of the table passes with it on.
ALWAYS_REFUSED = METADATA_URLS + METADATA_TEMPLATES + MALFORMED_URLS
ALLOWED_IN_DEVELOPMENT = NON_PUBLIC_URLS + NON_PUBLIC_TEMPLATES

# Everything refused at save with private addresses not allowed (the default).
UNSAFE_URLS = ALLOWED_IN_DEVELOPMENT + ALWAYS_REFUSED

# A macro in the host, the port or the user part lets the click choose where we call.
HOST_MACRO_URLS = {
    "https://{sub1}/pb": "{sub1}",
    "https://{app_name}.example.com/x": "{app_name}",
    "http://10.0.0.{sub2}/": "{sub2}",
    "https://user{click_id}@host.example/": "{click_id}",
    "https://partner.example:{sub3}/pb": "{sub3}",
}

# A public address written as an IP, so that accepting it asks no DNS server; macros in the path
# and in the query are allowed.
SAFE_URL = "https://93.184.215.14/pb/{sub1}?click={click_id}&sum={payout}"
