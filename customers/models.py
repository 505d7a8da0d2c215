from django.db import models
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
    """A person the shop talks to, on any channel: one customer, one history."""

    class Language(models.TextChoices):
        ZH = "zh", "中文"
        EN = "en", "English"

    external_id = models.CharField(
        _("external id"),
        max_length=128,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The shop's own id for this customer, vouched for by its backend."),
    )
    name = models.CharField(_("name"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.ZH
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        return _("Visitor %(number)s") % {"number": self.pk}

    @property
    def is_identified(self) -> bool:
        return bool(self.external_id)
