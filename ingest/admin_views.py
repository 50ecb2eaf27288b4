"""Staff tools under Ingestion: the postback debugger (`ingest.debugger`) and the IP lookup (`leads.geoip`).

Mounted by `InboundPostbackAdmin.get_urls` behind `admin_site.admin_view`; admins, managers and
analysts of the organization may use them (they write nothing), publishers may not.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin import ModelAdmin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import require_staff
from ingest.debugger import DebugRefused, postback_debug
from ingest.forms import IpLookupForm, PostbackDebugForm
from leads import datacenters, geoip


def postback_debugger(request: HttpRequest, model_admin: ModelAdmin) -> HttpResponse:
    """The form; on POST, how the pasted request would be processed, step by step."""
    organization = require_staff(request)
    form = PostbackDebugForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = postback_debug(organization=organization, **form.cleaned_data)
        except DebugRefused as refused:
            form.add_error("url", str(refused))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Postback debugger"),
        "opts": model_admin.model._meta,
        "form": form,
        "result": result,
    }
    return TemplateResponse(request, "admin/ingest/inboundpostback/postback_debugger.html", context)


def ip_lookup(request: HttpRequest, model_admin: ModelAdmin) -> HttpResponse:
    """What our GeoIP data says of an address: country, ASN, organization, which database, private,
    and whether the viewer's organization counts its network as a data centre (`leads.datacenters`)."""
    organization = require_staff(request)
    form = IpLookupForm(request.GET if "ip" in request.GET else None)
    network, datacenter = None, None
    if form.is_bound and form.is_valid():
        network = geoip.lookup(form.cleaned_data["ip"])
        datacenter = datacenters.datacenter_of(organization.pk, network.asn, network.as_org)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("IP lookup"),
        "opts": model_admin.model._meta,
        "form": form,
        "network": network,
        "datacenter": datacenter,
        "datacenter_list_url": reverse("admin:partners_datacenternetwork_changelist"),
        "database": geoip.database_name(),
        "sources": settings.GEOIP_COUNTRY_SOURCES,
    }
    return TemplateResponse(request, "admin/ingest/inboundpostback/ip_lookup.html", context)
