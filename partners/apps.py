from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = gettext_lazy("Apps, partners and offers")

    def ready(self) -> None:
        from audit.tracking import track
        from partners import models as m

        # Every configuration model, whole, in the audit log (README "Audit log"): fields added
        # later are followed too, and secret ones are found by their names. A part (a template
        # of an integration, a goal of an offer) also shows on its whole's history page.
        for model in (m.Channel, m.App, m.Partner, m.Integration, m.DatacenterNetwork, m.Offer, m.SmartLink):
            track(model, organization="organization_id")
        for model in (m.TrackingLink, m.Cap):
            track(model, organization="organization_id", parent="offer")
        for model in (m.ScreeningRule, m.SourceListEntry, m.TrackingParameter, m.PostbackTemplate):
            track(model, organization="integration.organization_id", parent="integration")
        for model in (m.Landing, m.Creative, m.Goal):
            track(model, organization="offer.organization_id", parent="offer")
        track(m.GoalAlias, organization="offer.organization_id", parent="goal")
        track(m.GoalPartnerPayout, organization="partner.organization_id", parent="goal")
        track(m.SmartLinkEntry, organization="smart_link.organization_id", parent="smart_link")
