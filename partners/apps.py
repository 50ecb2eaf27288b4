from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "Apps, partners and offers"

    def ready(self) -> None:
        from audit.tracking import track
        from partners import models as m

        # Every configuration model, whole, in the audit log (README "Audit log"): fields added
        # later are followed too, and secret ones are found by their names.
        organization_paths = {
            "organization_id": (
                *(m.Channel, m.App, m.Partner, m.Integration, m.DatacenterNetwork),
                *(m.Offer, m.TrackingLink, m.SmartLink, m.Cap),
            ),
            "integration.organization_id": (
                m.ScreeningRule,
                m.SourceListEntry,
                m.TrackingParameter,
                m.PostbackTemplate,
            ),
            "offer.organization_id": (m.Landing, m.Creative, m.Goal, m.GoalAlias),
            "partner.organization_id": (m.GoalPartnerPayout,),
            "smart_link.organization_id": (m.SmartLinkEntry,),
        }
        for path, models in organization_paths.items():
            for model in models:
                track(model, organization=path)
