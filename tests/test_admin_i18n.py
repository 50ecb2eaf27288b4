"""The admin stays translatable: its pages' words are marked for translation (issue 15).

Two checks. The templates are read with Django's own template lexer: any text a user sees
(between tags, or in an attribute such as aria-label) outside {% translate %} and
{% blocktranslate %} fails, as does a label handed to an include or a yesno filter as a bare
string. The Python side (wizard, forms, onboarding, debugger, messages) is checked by rendering
the pages with a catalogue that wraps every translated string in ⟪…⟫: a string that comes out
bare was never passed through gettext.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.urls import reverse

from postbacks.models import Delivery
from tests.factories import AppFactory, IntegrationFactory

TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Every admin page: the admin's own templates and the account pages shown inside the admin,
# plus the onboarding partial and the postback references they include.
ADMIN_TEMPLATES = sorted(
    [
        *(TEMPLATES / "admin").rglob("*.html"),
        *(TEMPLATES / "accounts/admin").glob("*.html"),
        TEMPLATES / "accounts/partials/onboarding.html",
        TEMPLATES / "postbacks/macro_reference.html",
        TEMPLATES / "postbacks/partials/verify_snippet.html",
    ]
)

# Words that read the same in every language: names, acronyms and file formats.
ALLOWED_WORDS = {"API", "URL", "AS", "ASN", "BIC", "CSV", "IBAN", "Partnerdesk", "PayPal", "SEPA", "XML"}

# Attributes whose value a user reads (or hears, with a screen reader).
VISIBLE_ATTRIBUTES = re.compile(r"""\b(?:aria-label|title|placeholder|alt)="([^"]*)\"""")
# A submit or button input's value is its label; other values (inputs', buttons') are data.
INPUT_LABEL = re.compile(r"""<input[^>]*type="(?:submit|button)"[^>]*\bvalue="([^"]*)\"""")
TAG = re.compile(r"<[^>]*>")
CODE = re.compile(r"<(pre|code)\b[^>]*>.*?</\1>", re.DOTALL)
ENTITY = re.compile(r"&[a-z]+;|&#\d+;")
WORD = re.compile(r"[^\W\d_]{2,}")
PLACEHOLDER = "\x00"
# `with label="Click URL"` and `yesno:"yes,no"` hand a bare string to what the user reads.
BARE_LABEL = re.compile(r"""\b(?:label|help|title)=("[^"]*[A-Za-z][^"]*")""")
BARE_YESNO = re.compile(r"""yesno:("[^"]*")""")
SKIPPED = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
}


def visible_text(source: str) -> tuple[list[str], list[str]]:
    """The untranslated words a user would read in a template, and its bare string arguments."""
    outside: list[str] = []
    bare: list[str] = []
    # Skipped up to their end tag: blocktranslate, comments, and the block of the body's CSS classes.
    until = ""
    for token in Lexer(source).tokenize():
        content = token.contents
        name = content.split()[0] if token.token_type == TokenType.BLOCK and content else ""
        if until:
            until = "" if name == until else until
        elif name in SKIPPED:
            until = SKIPPED[name]
        elif content == "block bodyclass":
            until = "endblock"
        elif token.token_type == TokenType.TEXT:
            outside.append(content)
        else:
            bare += BARE_YESNO.findall(content)
            if token.token_type == TokenType.BLOCK:
                bare += BARE_LABEL.findall(content)
            outside.append(PLACEHOLDER)
    html = CODE.sub(PLACEHOLDER, "".join(outside))
    tags = TAG.findall(html)
    attributes = [
        value
        for tag in tags
        for value in VISIBLE_ATTRIBUTES.findall(tag) + INPUT_LABEL.findall(tag)
        if not value.startswith("https://")  # an example URL, say as a placeholder
    ]
    text = ENTITY.sub(" ", " ".join([TAG.sub(" ", html), *attributes]))
    words = [word for word in WORD.findall(text) if word not in ALLOWED_WORDS]
    return words, bare


@pytest.mark.parametrize("path", ADMIN_TEMPLATES, ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_every_word_of_the_admin_templates_is_marked_for_translation(path):
    words, bare = visible_text(path.read_text())

    assert words == [], f"{path.name}: words outside translate/blocktranslate"
    assert bare == [], f'{path.name}: bare strings given as labels (use _("…"))'


def test_the_check_finds_unmarked_text_attributes_and_labels():
    source = (
        '{% comment %}A note{% endcomment %}<p>{% translate "Marked" %}</p><h2>Plain words</h2>'
        '<a aria-label="Open it">{% blocktranslate %}Also marked {{ x }}{% endblocktranslate %}</a>'
        '<code>token</code><input type="submit" value="Debug"><input type="hidden" value="data">'
        '{% include "x.html" with label="Click URL" id="pd-id" %}{{ flag|yesno:"yes,no" }}'
        '{% include "x.html" with label=_("Click URL") %} API &rsaquo;'
    )

    words, bare = visible_text(source)

    assert words == ["Plain", "words", "Open", "it", "Debug"]
    assert bare == ['"Click URL"', '"yes,no"']


# -- the Python side: rendered with the marking catalogue (tests/marking.py) -----------------------


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def app(organization):
    return AppFactory(organization=organization, name="Space Farm")


def wizard_url(client, app, **query) -> str:
    started = client.get(reverse("admin:partners_app_connect_start", args=[app.pk]), query)
    assert started.status_code == 302
    return started["Location"]


def test_the_wizards_first_step_shows_its_titles_labels_help_and_errors_marked(manager_client, app, marked):
    url = wizard_url(manager_client, app)
    run_id = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]

    page = manager_client.get(url).content.decode()

    assert "<title>⟪Connect a partner to Space Farm⟫" in page
    assert "⟪Partner details⟫" in page and "⟪Review and connect⟫" in page  # the step list
    assert "⟪Partner name⟫" in page and "⟪Default channel⟫" in page
    assert "⟪Type a name to create the channel when the partner is connected.⟫" in page
    assert "⟪Choose a channel⟫" in page
    assert ">⟪Next⟫</button>" in page and "⟪Create a new channel⟫" in page

    manager_client.post(url, {f"connect_{run_id}-current_step": "details", "details-partner_name": "AdNet"})
    page = manager_client.get(url).content.decode()

    assert "⟪Choose a channel, or create a new one.⟫" in page
    assert "⟪Your progress is kept: reload, or come back to it later from Connect partner.⟫" in page


def test_the_wizards_messages_are_translated(manager_client, app, marked):
    partner = IntegrationFactory(organization=app.organization, app=app, partner__name="AdNet").partner
    url = wizard_url(manager_client, app, partner=partner.pk)

    page = manager_client.get(url, follow=True).content.decode()

    assert "⟪AdNet is already connected to Space Farm.⟫" in page


def test_the_debugger_shows_its_form_steps_and_refusals_translated(manager_client, marked):
    url = reverse("admin:ingest_inboundpostback_debugger")

    page = manager_client.post(url, {"url": "/postback/lead?token=nope&click=abc", "method": "GET"})
    page = page.content.decode()

    assert "⟪Inbound URL⟫" in page and "⟪Body (POST)⟫" in page
    assert "⟪How GET /postback/lead would be processed⟫" in page
    assert ">⟪Token and scope⟫</th>" in page
    assert "⟪Unknown (or missing): no app or integration of your organization has this token.⟫" in page
    assert "⟪Nothing: the transaction was rolled back; no cache, counter or broker was touched.⟫" in page

    refused = manager_client.post(url, {"url": "ftp://partner.example/x", "method": "GET"}).content.decode()

    assert "⟪“ftp:” is not a web address: paste an http(s) URL or just its path.⟫" in refused


def test_the_admin_homes_checklist_and_tools_are_translated(manager_client, marked):
    page = manager_client.get(reverse("admin:index")).content.decode()

    assert "⟪Getting started · 0 of 4 done⟫" in page
    assert "⟪Create an app⟫" in page and "⟪Invite a publisher⟫" in page
    assert "⟪The product partners bring users to: its name, platform and store id.⟫" in page
    assert ">⟪Postback debugger⟫</a>" in page


def test_the_postback_reference_and_the_delivery_log_are_translated(manager_client, app, marked):
    integration = IntegrationFactory(organization=app.organization, app=app)
    Delivery.objects.create(
        organization=app.organization,
        kind=Delivery.Kind.PARTNER,
        event="conversion",
        integration=integration,
        partner=integration.partner,
        url="https://adnet.example/pb",
    )

    reference = manager_client.get(reverse("admin:leads_lead_postback_reference")).content.decode()
    deliveries = manager_client.get(reverse("admin:postbacks_delivery_changelist")).content.decode()

    assert "<title>⟪Postback reference⟫" in reference
    assert "⟪Create a lead with your unique id⟫" in reference
    assert "⟪Signed: optional (not required for this app yet)⟫" in reference
    assert "⟪Attempts⟫" in deliveries and "⟪attempt in doubt⟫" in deliveries


def test_without_the_marking_catalogue_the_pages_read_as_before(manager_client, app):
    page = manager_client.get(wizard_url(manager_client, app)).content.decode()

    assert "⟪" not in page
    assert "<title>Connect a partner to Space Farm" in page
    assert "Type a name to create the channel when the partner is connected." in page
