"""A publisher who types something wrong reads why in its own language, on every portal form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import Payout
from portal.selectors import referral_code_of
from portal.services import payment_method_set

pytestmark = pytest.mark.django_db

# DE89 3704 0044 0532 0130 00 with its last digit changed: the checksum no longer adds up.
MISTYPED_IBAN = "DE89370400440532013001"


def _speaking(client: Client, language: str) -> Client:
    client.post(reverse("portal:language"), {"language": language, "next": "/portal/"})
    return client


def _body(response) -> str:
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode()


@pytest.mark.parametrize(
    ("language", "refusal"),
    [
        ("es", "Los dígitos de control del IBAN no cuadran: seguramente hay un carácter mal escrito."),
        ("ru", "Контрольная сумма IBAN не сходится: вероятно, в одном символе опечатка."),
    ],
    ids=["es", "ru"],
)
def test_a_mistyped_iban_is_refused_in_the_publishers_language(world, client_a, language, refusal):
    form = {"kind": "bank", "account_holder": "Alpha SL", "iban": MISTYPED_IBAN}

    page = _speaking(client_a, language).post(reverse("portal:payment_method"), form).content.decode()

    assert refusal in page
    assert "The IBAN checksum is wrong" not in page


def test_a_bic_of_another_country_than_the_iban_is_refused_in_spanish(world, client_a):
    form = {
        "kind": "bank",
        "account_holder": "Alpha SL",
        "iban": "DE89370400440532013000",
        "bic": "BSCHESMMXXX",
    }

    page = _speaking(client_a, "es").post(reverse("portal:payment_method"), form).content.decode()

    assert "El BIC no corresponde al país del banco del IBAN: comprueba ambos con tu banco." in page
    assert "does not match" not in page


@pytest.mark.parametrize(
    ("language", "refusal"),
    [
        ("es", "Macro desconocida {clickid}: se enviaría vacía."),
        ("ru", "Неизвестный макрос {clickid}: он уйдёт пустым."),
    ],
    ids=["es", "ru"],
)
def test_a_postback_url_with_an_unknown_macro_is_refused_in_the_publishers_language(
    world, client_a, language, refusal
):
    url = "https://pub.example/pb?c={clickid}"

    page = _speaking(client_a, language).post(reverse("portal:postback"), {"url": url}).content.decode()

    assert refusal in page
    assert "Unknown macro" not in page
    world.a.partner.refresh_from_db()
    assert world.a.partner.publisher_postback_url == ""


def test_a_postback_url_to_a_private_address_is_refused_in_spanish(world, client_a, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    url = "http://127.0.0.1/pb?c={ref_id}"

    page = _speaking(client_a, "es").post(reverse("portal:postback"), {"url": url}).content.decode()

    assert (
        "127.0.0.1, una dirección de loopback (este mismo servidor): "
        "los postbacks solo pueden ir a direcciones públicas de internet."
    ) in page
    assert "public internet addresses" not in page


def test_the_live_check_while_typing_speaks_russian(world, client_a, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    query = {"url": "http://10.0.0.7/pb?c={ref_id}"}

    page = _speaking(client_a, "ru").get(reverse("portal:postback_preview"), query).content.decode()

    assert "10.0.0.7, это адрес частной сети: постбэки отправляются только на публичные адреса" in page
    assert "a private network address" not in page


def test_send_a_test_without_a_postback_url_is_refused_in_spanish(world, client_a):
    response = _speaking(client_a, "es").post(reverse("portal:postback_test"), follow=True)

    page = response.content.decode()
    assert "Primero configura la URL de postback y después envía una prueba." in page
    assert "Set the postback URL first" not in page


def test_a_sign_up_with_a_taken_name_is_refused_in_the_browsers_language(world):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es")
    form = {
        "company": world.b.partner.name.upper(),
        "email": "copy@example.com",
        "username": "copycat",
        "password": "Long-pass-2026!",
    }

    response = browser.post(f"{reverse('portal:signup')}?ref={referral_code_of(world.a.partner)}", form)

    page = response.content.decode()
    assert "Ya existe un publisher con este nombre: elige otro." in page
    assert "already exists" not in page


def test_a_payout_above_the_balance_is_refused_in_spanish(world, client_a):
    payment_method_set(partner=world.a.partner, kind="paypal", paypal_email="a@example.com")

    page = _speaking(client_a, "es").post(reverse("portal:payout_request"), {"amount": "999999"})

    assert "Puedes solicitar como máximo tu saldo disponible" in page.content.decode()
    assert not Payout.objects.filter(partner=world.a.partner).exists()


def test_a_payout_made_without_a_payment_method_says_so_in_russian(world, client_a):
    Payout.objects.create(
        organization=world.organization,
        partner=world.a.partner,
        amount=Decimal("20.00"),
        method="(no payment method)",
    )

    page = _speaking(client_a, "ru").get(reverse("portal:payments")).content.decode()

    assert "(способ оплаты не указан)" in page
    assert "(no payment method)" not in page


def test_the_report_names_redirect_reasons_in_spanish(world, client_a):
    query = "?period=30d&group_by=redirect"

    page = _speaking(client_a, "es").get(reverse("portal:report") + query).content.decode()

    assert "Fuera de la segmentación: país" in page
    assert "Outside the targeting" not in page


def test_a_spanish_publishers_conversion_export_has_spanish_column_titles(world, client_a):
    response = _speaking(client_a, "es").get(reverse("portal:conversions_export", args=["csv"]))

    header = _body(response).splitlines()[0]
    assert header == "Campaña,Objetivo,ID de clic,Hora de la conversión,Estado,Pago,Moneda,Ref ID,IP,Motivo"


def test_a_spanish_publishers_report_export_has_spanish_column_titles(world, client_a):
    response = _speaking(client_a, "es").get(reverse("portal:report_export", args=["csv"]) + "?period=30d")

    header = _body(response).splitlines()[0]
    assert header.startswith("Fecha,Impresiones,Clics,Clics únicos,")
    assert header.endswith(",Moneda")


def test_a_chart_waiting_for_its_script_says_so_in_portuguese(world, client_a):
    page = _speaking(client_a, "pt-br").get(reverse("portal:dashboard")).content.decode()

    assert 'class="pd-chart" data-chart="chart-' in page
    assert "Carregando…</div>" in page
    assert "Loading…" not in page


def test_a_page_that_is_not_there_is_explained_in_russian(world, client_a):
    response = _speaking(client_a, "ru").get(reverse("portal:campaign", args=[999999]))

    page = response.content.decode()
    assert response.status_code == 404
    assert "Страница не найдена" in page
    assert "Вернуться в портал" in page
    assert "Page not found" not in page
