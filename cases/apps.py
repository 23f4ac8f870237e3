from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from audit.labels import describe_values
        from cases.shredding import forget_templates_and_digests
        from cases.workflow import CaseState
        from encryption.signals import shredding
        from intake.vocabulary import Language

        describe_values(("from_state", "to_state"), dict(CaseState.choices))
        describe_values(("language",), dict(Language.choices))
        shredding.connect(forget_templates_and_digests, dispatch_uid="cases.forget_templates")
