"""The management API router: each app registers its own viewsets."""

from rest_framework.routers import DefaultRouter

from ingest.api import register as register_ingest
from leads.api import register as register_leads
from partners.api import register as register_partners
from postbacks.api import register as register_postbacks

router = DefaultRouter()
register_partners(router)
register_leads(router)
register_postbacks(router)
register_ingest(router)
