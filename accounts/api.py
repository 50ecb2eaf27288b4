"""`POST /api/v1/me/token/rotate/`: a login rotates its own API key with the key itself."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import RotatingTokenAuthentication
from accounts.models import PreviousApiKey
from accounts.permissions import is_staff_member
from accounts.services import api_token_rotate
from config.masking import mask_secret
from partners.serializers import TokenRotateSerializer
from partners.services import TOKEN_OVERLAPS


class TokenRotatedSerializer(serializers.Serializer):
    """The answer to a rotation: the new key, this once, and until when the previous one works."""

    key = serializers.CharField(help_text="The new key: shown this once, keep it now.")
    previous_key = serializers.CharField(help_text="The key this request was sent with, masked (a1b2…).")
    previous_key_valid_until = serializers.DateTimeField(help_text="The previous key is refused from then.")


class IsStaffMember(BasePermission):
    """Any staff role may rotate its own key (analysts too: it changes no organization data)."""

    message = "This API is for an organization's staff: send a valid staff API token."

    def has_permission(self, request: Any, view: Any) -> bool:
        return is_staff_member(request.user)


class ApiTokenRotateView(APIView):
    """A new API key for the calling login; the key of this request keeps working for `overlap`."""

    authentication_classes = [RotatingTokenAuthentication]
    permission_classes = [IsStaffMember]

    @extend_schema(
        request=TokenRotateSerializer, responses={200: TokenRotatedSerializer}, operation_id="me_token_rotate"
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, PreviousApiKey):
            raise PermissionDenied("This key was rotated already: rotate with the current key.")
        body = TokenRotateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        previous = request.auth.key
        # The request's own token exists (it authenticated it), so there is always one to rotate.
        token, valid_until = api_token_rotate(
            user=request.user, overlap=TOKEN_OVERLAPS[body.validated_data["overlap"]][1]
        )
        answer = {
            "key": token.key,
            "previous_key": mask_secret(previous),
            "previous_key_valid_until": valid_until,
        }
        # The new key is answered once: no cache along the way may keep a copy.
        return Response(TokenRotatedSerializer(answer).data, headers={"Cache-Control": "no-store"})
