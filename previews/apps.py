from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def ensure_approvers_group(sender=None, **kwargs) -> None:
    """The "Order approvers" group holds the approve permission after every migrate (the
    data migration 0008 creates it; this keeps it after a flush, as tests do)."""
    from django.contrib.auth.models import Group, Permission

    from .orders import APPROVERS_GROUP

    permission = Permission.objects.filter(
        codename="approve_orderrequest", content_type__app_label="previews"
    ).first()
    if permission is None:  # created by auth's own post_migrate, which may run later
        return
    group, _created = Group.objects.get_or_create(name=APPROVERS_GROUP)
    group.permissions.add(permission)


class PreviewsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "previews"
    verbose_name = _("Order previews")

    def ready(self):
        # After auth's handler (connected first, as auth is installed before previews),
        # which creates the permission.
        post_migrate.connect(ensure_approvers_group, dispatch_uid="previews-approvers-group")
