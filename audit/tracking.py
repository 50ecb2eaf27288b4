"""Which models the audit log follows, how their secrets are hidden, and explicit entries.

Each app registers its configuration models in its `AppConfig.ready()` with `track()`: the
whole model (fields added later are followed too), the path from an object to its
organization, and which fields are secret. Secrets are found by name (`config.masking`'s list:
`token`, `previous_token`, `signing_secret`, `passcode`, `key`…, and the encrypted columns of
`config.crypto`, `…_encrypted`) and shown as their first characters only; URL fields keep
their text with secret query values as `***`; payment details (`partly=`) keep their ends.

Writes that send no model signals (`QuerySet.update()`, `bulk_create()`) call `record_update`
or `record_created` so they are in the log all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from copy import copy
from operator import attrgetter
from typing import Any

from auditlog import get_logentry_model
from auditlog.context import auditlog_value
from auditlog.diff import model_instance_diff
from auditlog.registry import auditlog
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.db import models, transaction
from django.db.models.signals import pre_save

from config.masking import MASK, is_secret_name, mask_secret, mask_url

_ENCRYPTED_SUFFIX = "_encrypted"
_organization_paths: dict[type[models.Model], Callable[[Any], int | None]] = {}
_reprs: dict[type[models.Model], Callable[[Any], str]] = {}
_idents: dict[type[models.Model], Callable[[Any], str]] = {}
_parents: dict[type[models.Model], models.ForeignKey] = {}


def hide(value: str) -> str:
    """A secret as the log shows it: a URL without its secret values, anything else cut short."""
    if value in ("", "None"):
        return value
    if value.startswith(("http://", "https://")):
        return mask_url(value)
    if value.startswith("gAAAA"):  # a config.crypto (Fernet) ciphertext: only that it is set
        return MASK
    return mask_secret(value)


def hide_partly(value: str) -> str:
    """Payment details (an IBAN, a PayPal address, a wallet): enough to recognize, not to use."""
    if value in ("", "None"):
        return value
    name, at, domain = value.partition("@")
    if at and " " not in value:
        return f"{name[:1]}***@{domain}"
    return f"{value[:2]}***{value[-4:]}" if len(value) > 8 else MASK


def is_secret_field(field: models.Field) -> bool:
    name = field.name.removesuffix(_ENCRYPTED_SUFFIX)
    return is_secret_name(name) or field.name.endswith(_ENCRYPTED_SUFFIX)


def _is_url_field(field: models.Field) -> bool:
    return isinstance(field, models.URLField) or field.name == "url" or field.name.endswith("_url")


def track(
    model: type[models.Model],
    *,
    organization: str,
    partly: Iterable[str] = (),
    repr: Callable[[Any], str] | None = None,
    ident: Callable[[Any], str] | None = None,
    parent: str | None = None,
    exclude: Iterable[str] = (),
) -> None:
    """Follow every change of `model`'s objects in the audit log.

    `organization` is the attribute path from an object to its organization's id
    (`"app.organization_id"`); `partly` names payment-detail fields shown with their ends
    only (the model's other masked fields are then shown that way too); `repr` replaces the
    object's `str()` where it would show a secret, and `ident` its primary key where that is
    one (an API token's key); `parent` names the foreign key to the object this one is part
    of, whose history page then shows this one's changes too; `exclude` names fields left out
    of diffs.
    """
    partly = list(partly)
    secret = [
        field.name for field in model._meta.concrete_fields if is_secret_field(field) or _is_url_field(field)
    ]
    masked = [*partly, *(name for name in secret if name not in partly)]
    auditlog.register(
        model,
        mask_fields=masked,
        mask_callable="audit.tracking.hide_partly" if partly else "audit.tracking.hide",
        exclude_fields=list(exclude),
    )
    _organization_paths[model] = attrgetter(organization)
    concrete = model._meta.concrete_model
    if repr is not None:
        _reprs[concrete] = repr
    if ident is not None:
        _idents[concrete] = ident
    if parent is not None:
        _parents[concrete] = model._meta.get_field(parent)


def is_tracked(model: type[models.Model]) -> bool:
    return auditlog.contains(model)


def organization_id_of(instance: models.Model) -> int | None:
    getter = _organization_paths.get(type(instance)) or _organization_paths.get(
        type(instance)._meta.concrete_model
    )
    if getter is None:
        return None
    try:
        return getter(instance)
    except (AttributeError, models.ObjectDoesNotExist):
        return None


def safe_repr(instance: models.Model) -> str:
    """The object's name for the log: its `str()`, unless that would show a secret."""
    describe = _reprs.get(type(instance)._meta.concrete_model)
    try:
        return describe(instance) if describe else str(instance)
    except Exception:  # noqa: BLE001 (naming the object in the log must never fail its write)
        return f"{instance._meta.verbose_name} #{instance.pk}"


def object_pk_of(instance: models.Model) -> str:
    """What the log calls the object: its primary key, unless that is a secret."""
    ident = _idents.get(type(instance)._meta.concrete_model)
    return ident(instance) if ident else str(instance.pk)


def parent_of(instance: models.Model) -> tuple[type[models.Model], str] | None:
    """The model and primary key of the object `instance` is part of, if it is part of one."""
    field = _parents.get(type(instance)._meta.concrete_model)
    pk = getattr(instance, field.attname) if field else None
    return None if pk is None else (field.related_model, str(pk))


def set_channel(channel: str) -> None:
    """Entries written from now on in this request come through `channel` (e.g. the wizard)."""
    with suppress(LookupError):
        auditlog_value.get()["channel"] = channel


def record_update(instance: models.Model, **values: Any) -> None:
    """Log the change `QuerySet.update(**values)` makes to `instance` (which still holds the old values)."""
    AuditEntry = get_logentry_model()
    changed = copy(instance)
    for name, value in values.items():
        setattr(changed, name, value)
    changes = model_instance_diff(instance, changed, fields_to_check=set(values))
    if changes:
        AuditEntry.objects.log_create(changed, action=AuditEntry.Action.UPDATE, changes=changes)


def update_recorded(queryset: models.QuerySet, **values: Any) -> int:
    """`queryset.update(**values)`, with an entry for each row it changes; the number changed.

    The rows are locked first, so the entries name exactly the rows the update changed.
    """
    with transaction.atomic():
        # Only the rows themselves are locked (a model's default ordering may join nullable tables).
        rows = list(queryset.order_by().select_for_update(of=("self",)))
        updated = queryset.model._default_manager.filter(pk__in=[row.pk for row in rows]).update(**values)
        for row in rows:
            record_update(row, **values)
    return updated


def record_change(instance: models.Model, **changes: tuple[str, str]) -> None:
    """Log a change that is no field of `instance`'s own (e.g. its source list pasted in bulk)."""
    AuditEntry = get_logentry_model()
    AuditEntry.objects.log_create(instance, action=AuditEntry.Action.UPDATE, changes=changes)


def record_created(instances: Iterable[models.Model]) -> None:
    """Log objects made by `bulk_create()` (they have their primary keys)."""
    AuditEntry = get_logentry_model()
    for instance in instances:
        changes = model_instance_diff(None, instance)
        AuditEntry.objects.log_create(instance, action=AuditEntry.Action.CREATE, changes=changes or {})


def _admin_history_repr(sender: type, instance: AdminLogEntry, **kwargs: Any) -> None:
    """Django's own admin history names objects by `str()`: not for objects whose name is a secret."""
    model = instance.content_type.model_class() if instance.content_type_id else None
    concrete = model._meta.concrete_model if model else None
    if concrete not in _reprs:
        return
    obj = concrete._default_manager.filter(pk=instance.object_id).first()
    instance.object_repr = safe_repr(obj) if obj else str(concrete._meta.verbose_name)


def connect_admin_history_repr() -> None:
    pre_save.connect(_admin_history_repr, sender=AdminLogEntry, dispatch_uid="audit_admin_history_repr")
