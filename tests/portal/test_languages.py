"""The portal in the publisher's language: complete catalogues, a saved choice, local dates and money."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.translation import to_locale

from accounts.models import Membership
from portal.models import Payout
from tests.reports.builders import PASSWORD

pytestmark = pytest.mark.django_db

TRANSLATED = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
LOCALE = Path(settings.LOCALE_PATHS[0])
# The catalogues of each language and the fewest messages each holds: the pages' words (django)
# and the portal script's (djangojs, static/portal/portal.js).
DOMAINS = {"django": 250, "djangojs": 1}
# The script tag of the words' catalogue, just before the portal's script that uses them.
CATALOGUE_BEFORE_SCRIPT = re.compile(r'<script src="([^"]*)" defer></script>\s*<script src="\S*/portal\.js')

# What a publisher reads on each tab, per language: the tab's heading and a few key strings.
TABS = {
    "portal:dashboard": {
        "es": ["<h1>Panel</h1>", "Mejores campañas", "Ganancias"],
        "pt-br": ["<h1>Painel</h1>", "Principais campanhas", "Ganhos"],
        "ru": ["<h1>Обзор</h1>", "Лучшие кампании", "Заработок"],
    },
    "portal:campaigns": {
        "es": ["<h1>Campañas</h1>", "Ganas", "Categoría"],
        "pt-br": ["<h1>Campanhas</h1>", "Você ganha", "Categoria"],
        "ru": ["<h1>Кампании</h1>", "Вы получаете", "Категория"],
    },
    "portal:report": {
        "es": ["<h1>Informe</h1>", "Agrupar por", "Clics únicos", "Exportar CSV"],
        "pt-br": ["<h1>Relatório</h1>", "Agrupar por", "Cliques únicos", "Exportar CSV"],
        "ru": ["<h1>Отчёт</h1>", "Группировать по", "Уникальные клики", "Экспорт CSV"],
    },
    "portal:payments": {
        "es": ["<h1>Pagos</h1>", "Historial de pagos", "Solicitar un pago"],
        "pt-br": ["<h1>Pagamentos</h1>", "Histórico de pagamentos", "Solicitar um pagamento"],
        "ru": ["<h1>Выплаты</h1>", "История выплат", "Запросить выплату"],
    },
    "portal:conversions": {
        "es": ["<h1>Registro de conversiones</h1>", "Hora de la conversión", "Filtrar"],
        "pt-br": ["<h1>Registro de conversões</h1>", "Horário da conversão", "Filtrar"],
        "ru": ["<h1>Журнал конверсий</h1>", "Время конверсии", "Фильтр"],
    },
    "portal:postback": {
        "es": ["<h1>Postback</h1>", "Envíos recientes", "Enviar una prueba"],
        "pt-br": ["<h1>Postback</h1>", "Envios recentes", "Enviar um teste"],
        "ru": ["<h1>Постбэк</h1>", "Последние отправки", "Отправить тест"],
    },
    "portal:profile": {
        "es": ["<h1>Perfil</h1>", "Datos de contacto", "Inicio de sesión en dos pasos"],
        "pt-br": ["<h1>Perfil</h1>", "Dados de contato", "Login em duas etapas"],
        "ru": ["<h1>Профиль</h1>", "Контактные данные", "Двухэтапный вход"],
    },
}
# A payout of 1,234.50 EUR requested on 2026-11-28 15:04 UTC, as each language writes it (Babel, Django).
PAYOUT_SHOWN = {
    "en": ("€1,234.50", "Nov. 28, 2026, 3:04 p.m."),
    "es": ("1.234,50\xa0€", "28 de noviembre de 2026 a las 15:04"),
    "pt-br": ("€\xa01.234,50", "28 de Novembro de 2026 às 15:04"),
    "ru": ("1\xa0234,50\xa0€", "28 ноября 2026 г. 15:04"),
}
MINIMUM_SHOWN = {
    "es": "El pago mínimo es 10,00\xa0US$.",
    "pt-br": "O pagamento mínimo é US$\xa010,00.",
    "ru": "Минимальная выплата — 10,00\xa0$.",
}


def _catalogue(language: str) -> Path:
    return LOCALE / to_locale(language) / "LC_MESSAGES"


def _switch(client: Client, language: str, next_url: str = "/portal/"):
    return client.post(reverse("portal:language"), {"language": language, "next": next_url})


@pytest.fixture
def euro_payout(world):
    payout = Payout.objects.create(
        organization=world.organization,
        partner=world.a.partner,
        amount=Decimal("1234.50"),
        currency="EUR",
        method="PayPal: alpha",
    )
    Payout.objects.filter(pk=payout.pk).update(requested_at=datetime(2026, 11, 28, 15, 4, tzinfo=UTC))
    return payout


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalogue_is_complete_with_nothing_fuzzy(language, domain):
    with open(_catalogue(language) / f"{domain}.po", "rb") as handle:
        catalogue = read_po(handle)
    assert not catalogue.fuzzy, "the header is marked fuzzy: msgfmt would drop it"
    untranslated = [m.id for m in catalogue if m.id and not all(m.string if m.pluralizable else [m.string])]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert len(catalogue) >= DOMAINS[domain]
    assert untranslated == [] and fuzzy == []


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("language", TRANSLATED)
def test_every_compiled_catalogue_loads_and_matches_its_po_file(language, domain):
    folder = _catalogue(language)
    with open(folder / f"{domain}.po", "rb") as handle:
        catalogue = read_po(handle)
    with open(folder / f"{domain}.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for message in catalogue:
        if not message.id:
            continue
        if message.pluralizable:
            shown = compiled.ngettext(message.id[0], message.id[1], 1)
            expected = message.string[0]
        else:
            shown, expected = compiled.gettext(message.id), message.string
        if shown != expected:
            stale.append(message.id)
    assert stale == [], "run `manage.py compilemessages` and commit the .mo files"


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_publisher_who_switches_language_sees_every_tab_in_it(world, client_a, language):
    assert _switch(client_a, language).status_code == 302

    for tab, texts in TABS.items():
        page = client_a.get(reverse(tab)).content.decode()
        missing = [text for text in texts[language] if text not in page]
        assert missing == [], f"{tab} in {language}"
        assert f'<html lang="{language}">' in page


@pytest.mark.parametrize("language", ["en", *TRANSLATED])
def test_payments_show_money_and_dates_as_the_language_writes_them(world, client_a, euro_payout, language):
    _switch(client_a, language)

    page = client_a.get(reverse("portal:payments")).content.decode()

    amount, requested = PAYOUT_SHOWN[language]
    assert amount in page
    assert requested in page
    if language in MINIMUM_SHOWN:
        assert MINIMUM_SHOWN[language] in page


def test_a_campaigns_page_speaks_the_language_down_to_its_targeting(world, client_a):
    offer = world.offers[0]
    offer.allowed_countries = "DE,FR"
    offer.save(update_fields=["allowed_countries"])
    _switch(client_a, "ru")

    page = client_a.get(reverse("portal:campaign", args=[offer.pk])).content.decode()

    assert "Лендинги и диплинки" in page
    assert "Трекинговые ссылки" in page
    assert "Только эти страны: DE, FR." in page


def test_the_portal_loads_its_scripts_words_in_the_publishers_language(world, client_a):
    _switch(client_a, "es")
    page = client_a.get(reverse("portal:dashboard")).content.decode()
    catalogue_url = CATALOGUE_BEFORE_SCRIPT.search(page)[1]

    script = client_a.get(catalogue_url)

    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    assert '"Copied": "Copiado"' in script.content.decode()


def test_the_scripts_words_are_asked_again_only_to_be_told_they_have_not_changed(client):
    url = reverse("javascript-catalog", args=["pt-br"])
    first = client.get(url)

    again = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert '"Copied": "Copiado"' in first.content.decode()
    assert first["Cache-Control"] == "no-cache"
    assert again.status_code == 304


def test_a_language_that_is_not_offered_has_no_scripts_words(client):
    assert client.get(reverse("javascript-catalog", args=["de"])).status_code == 404


def test_the_report_by_date_writes_days_in_the_language(world, client_a):
    _switch(client_a, "es")

    page = client_a.get(reverse("portal:report") + "?period=30d&group_by=date").content.decode()

    table = page.split('id="report-table"', 1)[1]
    assert " de 2026</td>" in table or " de 2027</td>" in table
    assert "<th>Fecha</th>" in table


def test_the_choice_is_saved_on_the_login_and_holds_at_the_next_sign_in(world, client_a):
    _switch(client_a, "ru")
    assert Membership.objects.get(pk=world.a.membership.pk).language == "ru"

    browser = Client(HTTP_ACCEPT_LANGUAGE="es")  # a new browser, no language cookie, asks for Spanish
    response = browser.post(reverse("portal:login"), {"username": "alpha", "password": PASSWORD}, follow=True)

    assert "<h1>Обзор</h1>" in response.content.decode()


def test_signed_out_pages_follow_the_browsers_language(db):
    page = Client(HTTP_ACCEPT_LANGUAGE="pt-PT,pt;q=0.9").get(reverse("portal:login")).content.decode()

    assert "<h1>Portal de publishers</h1>" in page
    assert "Esqueceu sua senha?" in page


def test_a_language_that_is_not_offered_changes_nothing(world, client_a):
    _switch(client_a, "de")

    assert Membership.objects.get(pk=world.a.membership.pk).language == ""
    assert "<h1>Dashboard</h1>" in client_a.get(reverse("portal:dashboard")).content.decode()


def test_the_admin_stays_in_english_whatever_the_browser_asks(world, manager_of):
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(manager_of)

    page = client.get("/admin/").content.decode()

    assert '<html lang="en-us"' in page or '<html lang="en"' in page
    assert "Log out" in page


def test_the_password_reset_email_goes_out_in_the_publishers_language(world):
    Membership.objects.filter(pk=world.a.membership.pk).update(language="ru")

    Client(HTTP_ACCEPT_LANGUAGE="en").post(reverse("portal:password_reset"), {"email": "alpha@example.com"})

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Сброс пароля на портале вебмастера"
    assert message.body.startswith("Здравствуйте, alpha!")
    assert "/portal/password-reset/" in message.body
