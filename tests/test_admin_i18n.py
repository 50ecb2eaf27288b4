"""The admin stays translatable: its pages' words are marked for translation (issue 15).

Two checks. The templates are read with Django's own template lexer: any text a user sees
(between tags, or in an attribute such as aria-label) outside {% translate %} and
{% blocktranslate %} fails, as does a label handed to an include or a yesno filter as a bare
string. The Python side (wizard, forms, onboarding, debugger, messages) is checked by rendering
the pages with a catalogue that wraps every translated string in ⟪…⟫: a string that comes out
bare was never passed through gettext.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.urls import reverse

from leads.services import lead_create
from postbacks.models import Delivery
from tests.factories import AppFactory, IntegrationFactory
from tests.ingest.test_postback_support import make_world

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


def test_the_lead_actions_and_their_messages_are_translated_with_plurals(
    manager_client, organization, marked
):
    world = make_world(organization)
    leads = [
        lead_create(app=world.app, link=world.link, click=world.click(), exto=f"m-{n}")[0] for n in (1, 2)
    ]
    changelist = reverse("admin:leads_lead_changelist")

    page = manager_client.get(changelist).content.decode()
    approved = manager_client.post(
        changelist, {"action": "approve_leads", "_selected_action": [lead.pk for lead in leads]}, follow=True
    ).content.decode()
    again = manager_client.post(
        changelist, {"action": "approve_leads", "_selected_action": [leads[0].pk]}, follow=True
    ).content.decode()

    assert "⟪Approve selected leads⟫" in page and "⟪Override verdict: flag selected leads⟫" in page
    assert "⟪Payout in base⟫" in page
    assert "⟪2 leads approved.⟫" in approved
    assert "⟪0 leads approved.⟫ ⟪1 was already ⟪approved⟫.⟫" in again


def test_without_the_marking_catalogue_the_pages_read_as_before(manager_client, app):
    page = manager_client.get(wizard_url(manager_client, app)).content.decode()

    assert "⟪" not in page
    assert "<title>Connect a partner to Space Farm" in page
    assert "Type a name to create the channel when the partner is connected." in page


# -- the Python side, read: every admin module's words go through gettext -------------------------


def admin_only_modules() -> list[Path]:
    """Every app's admin.py and the Python modules the Makefile's ADMIN_ONLY keeps out of the
    portal's catalogues (a bare file name stands for that file in every app)."""
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text().replace("\\\n", " ")
    names = re.search(r"^ADMIN_ONLY := (.*)$", makefile, re.MULTILINE).group(1).split()
    base = Path(settings.BASE_DIR)
    modules = [*base.glob("*/admin.py")]
    for name in (name for name in names if name.endswith(".py")):
        modules += [base / name] if "/" in name else base.glob(f"*/{name}")
    return sorted(modules)


ADMIN_MODULES = admin_only_modules()
GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "format_lazy",
    "admin_text",
}
# Arguments and attributes whose string a user reads, whatever it looks like ("email" included).
SHOWN_KEYWORDS = {
    "description",
    "short_description",
    "label",
    "help_text",
    "verbose_name",
    "verbose_name_plural",
    "empty_value_display",
    "title",
    "search_help_text",
    "empty_label",
}
# Calls whose argument at that position a user reads: messages, errors.
SHOWN_CALLS = {
    "message_user": 1,
    "add_error": 1,
    "error": 1,
    "Http404": 0,
    "PermissionDenied": 0,
    "ValidationError": 0,
}
# What a program reads: lookups ("=click_id", "user__email"), URL names, routes, paths, ids and
# classes ("pd-token-", "vLargeTextField"), query strings, HTTP names ("Content-Disposition", "POST").
CODE_LIKE = re.compile(
    r"[=^@-]?[a-z0-9_]+(?:__[a-z0-9_]+)*"
    r"|[^\s]*[-.#:/][^\s]*|[a-z]+[A-Z]\w*|.*(?:[?&]|\w=).*"
    r"|[A-Z][a-z]+(?:-[A-Z][a-z]+)+|[A-Z_]+"
)
# Markup and placeholders around the words of a format string.
MARKUP = re.compile(r"<[^>]*>|\{[^{}]*\}|%\(\w+\)[sdf]|%[sd]|&[a-z]+;")
# Strings that read like words but go to a program: the debugger's User-Agent, a header's name.
NOT_SHOWN = {"Partnerdesk postback debugger", "Location"}


def unmarked_strings(source: str) -> list[str]:
    """The strings of a module a user would read that are not passed through gettext.

    A string is read when it is handed to something shown (a description, a label, a message, an
    error), or when it reads like words rather than code. A bare string that the module also
    passes through gettext elsewhere is a key to that translation (a step's name, say).
    """
    tree = ast.parse(source)
    parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def call_name(node: ast.AST | None) -> str:
        func = node.func if isinstance(node, ast.Call) else None
        return getattr(func, "id", "") or getattr(func, "attr", "")

    def marked(node: ast.AST) -> bool:
        while node in parent:
            node = parent[node]
            if call_name(node) in GETTEXT:
                return True
        return False

    def shown(node: ast.AST) -> bool:
        """Handed to what a user reads: a shown keyword or attribute, a message, an error."""
        above = parent.get(node)
        if isinstance(above, ast.JoinedStr):
            node, above = above, parent.get(above)
        if isinstance(above, ast.keyword):
            return above.arg in SHOWN_KEYWORDS
        if isinstance(above, ast.Assign):
            return any(getattr(target, "id", "") in SHOWN_KEYWORDS for target in above.targets)
        if isinstance(above, ast.Dict) and node in above.values:  # {"description": "…"}
            key = above.keys[above.values.index(node)]
            return isinstance(key, ast.Constant) and key.value in SHOWN_KEYWORDS
        position = SHOWN_CALLS.get(call_name(above))
        return position is not None and position < len(above.args) and above.args[position] is node

    def logged(node: ast.AST) -> bool:
        """Handed to the server's log, not to a person (a SuspiciousOperation answers a bare 400),
        or compared with data (a user agent's "Other" family)."""
        above = parent.get(node)
        return call_name(above) in {"SuspiciousOperation", "RuntimeError"} or isinstance(above, ast.Compare)

    strings = [
        node for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    keys = {node.value for node in strings if marked(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and shown(node):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
        # A form field without a label shows its attribute's name, which no catalogue translates.
        field = parent.get(node)
        if (
            call_name(node).endswith("Field")
            and isinstance(field, ast.Assign)
            and isinstance(field.targets[0], ast.Name)
            and "label" not in {keyword.arg for keyword in node.keywords}
        ):
            found.append(f"{node.lineno}: the field {field.targets[0].id} has no label")
    for node in strings:
        text = MARKUP.sub("", node.value).strip()
        if (
            marked(node)
            or node.value in keys
            or text in NOT_SHOWN
            or logged(node)
            or isinstance(parent.get(node), ast.Expr)
        ):
            continue
        if isinstance(parent.get(node), ast.JoinedStr):
            continue  # a piece of an f-string: the f-string is checked as a whole, above
        words = [word for word in WORD.findall(text) if word not in ALLOWED_WORDS]
        if words and (shown(node) or not CODE_LIKE.fullmatch(text)):
            found.append(f"{node.lineno}: {node.value}")
    return found


@pytest.mark.parametrize("path", ADMIN_MODULES, ids=lambda path: str(path.relative_to(settings.BASE_DIR)))
def test_every_word_of_the_admin_modules_goes_through_gettext(path):
    assert unmarked_strings(path.read_text()) == []


def test_the_python_check_finds_bare_descriptions_messages_labels_and_sentences():
    source = """
from django.utils.translation import gettext as _, gettext_lazy

STEPS = {"Endpoint": gettext_lazy("Endpoint")}


class Form(forms.Form):
    email = forms.EmailField()
    code = forms.CharField(label=gettext_lazy("Code"), help_text="Bare help")


class Admin(admin.ModelAdmin):
    search_fields = ("=click_id", "user__email")
    verbose_name = "postback"

    @admin.display(description="who", ordering="actor_name")
    def who(self, obj):
        return format_html('<a href="{}">Open it</a>', obj.url)

    def act(self, request, queryset):
        self.message_user(request, f"{len(queryset)} done")
        self.message_user(request, _("%(n)d done") % {"n": 1})
        response["Content-Disposition"] = "attachment"
        return redirect("admin:leads_lead_changelist"), Step("Endpoint", "x"), "pd-token-"
"""
    assert sorted(unmarked_strings(source), key=lambda found: int(found.split(":")[0])) == [
        "8: the field email has no label",
        "9: Bare help",
        "14: postback",
        "16: who",
        '18: <a href="{}">Open it</a>',
        "21: f'{len(queryset)} done'",
    ]


def test_the_admins_words_from_shared_modules_are_translated(manager_client, marked):
    macros = manager_client.get(reverse("macro-reference")).content.decode()
    screening = manager_client.get(reverse("admin:leads_lead_screening_report")).content.decode()
    rates = manager_client.get(reverse("admin:currencies_exchangerate_changelist")).content.decode()
    index = manager_client.get(reverse("admin:index")).content.decode()

    assert "⟪Our click id: opaque, unguessable, URL-safe.⟫" in macros
    assert "⟪Clicks flagged⟫" in screening and "⟪Source (sub1)⟫" in screening
    assert "⟪No exchange rates loaded yet⟫" in rates
    assert "⟪Partner management⟫" in index
