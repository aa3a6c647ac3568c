"""The merchant console's poster template editor (distribution → posters): layout, colours,
headline and footer, a background picture, and a preview drawn by the same code that draws the
distributors' posters (with sample content, not stored).

Every member of the shop may look; the owner and admins change the template. The service
(distribution.services.share) checks the values: a tampered form gets its field errors and
changes nothing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from distribution.services.share import (
    TEMPLATE_FIELDS,
    poster_background_set,
    poster_layout_choices,
    poster_preview,
    poster_template_get,
    poster_template_update,
)
from frontend.catalog_forms import catalog_errors_apply, disable_all
from frontend.console_access import console_role_in, console_tenant
from frontend.console_distribution import DISTRIBUTION_EDITOR_ROLES
from frontend.views import _console_context
from infra.errors import DomainError

COLOR_INPUT = forms.TextInput(attrs={"type": "color"})


class PosterTemplateForm(forms.Form):
    layout = forms.ChoiceField(label=gettext_lazy("Layout"))
    background_color = forms.CharField(
        label=gettext_lazy("Background colour"), max_length=7, widget=COLOR_INPUT
    )
    text_color = forms.CharField(
        label=gettext_lazy("Text colour"), max_length=7, widget=COLOR_INPUT
    )
    accent_color = forms.CharField(
        label=gettext_lazy("Accent colour (headline, price)"), max_length=7, widget=COLOR_INPUT
    )
    headline = forms.CharField(
        label=gettext_lazy("Headline"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("At the top of the poster, e.g. 好物推荐. Leave empty for none."),
    )
    footer = forms.CharField(
        label=gettext_lazy("Footer"),
        required=False,
        max_length=60,
        help_text=gettext_lazy("Next to the code, e.g. 长按识别二维码 立即购买."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        layout = self.fields["layout"]
        assert isinstance(layout, forms.ChoiceField)
        layout.choices = poster_layout_choices()


class PosterBackgroundForm(forms.Form):
    background = forms.FileField(label=gettext_lazy("Background picture"), required=False)
    remove = forms.BooleanField(label=gettext_lazy("Use the plain colour"), required=False)


def _page(
    request: HttpRequest, *, form: PosterTemplateForm | None = None, status: int = 200
) -> HttpResponse:
    console_tenant(request)
    template = poster_template_get()
    can_edit = console_role_in(request, DISTRIBUTION_EDITOR_ROLES)
    if form is None:
        form = PosterTemplateForm(
            initial={name: getattr(template, name) for name in TEMPLATE_FIELDS}
        )
        if not can_edit:
            disable_all(form)
    context = _console_context(request, "distribution")
    context.update(
        form=form,
        background_form=PosterBackgroundForm(),
        can_edit=can_edit,
        template=template,
        has_background=bool(template.background_image),
    )
    return render(request, "frontend/distribution/share.html", context, status=status)


@require_GET
def poster_template_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The poster template editor with its preview."""
    return _page(request)


@require_POST
def poster_template_save(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = console_tenant(request)
    if not console_role_in(request, DISTRIBUTION_EDITOR_ROLES):
        raise PermissionDenied
    form = PosterTemplateForm(request.POST)
    if form.is_valid():
        try:
            poster_template_update(
                changes={name: form.cleaned_data[name] for name in TEMPLATE_FIELDS}
            )
        except DomainError as error:
            catalog_errors_apply(form, error, {})
        else:
            messages.success(request, _("The poster template is saved."))
            return redirect("console-distribution-posters", slug=tenant.slug)
    return _page(request, form=form, status=400)


@require_POST
def poster_background_save(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = console_tenant(request)
    if not console_role_in(request, DISTRIBUTION_EDITOR_ROLES):
        raise PermissionDenied
    form = PosterBackgroundForm(request.POST, request.FILES)
    upload = request.FILES.get("background")
    if form.is_valid() and (upload is not None or form.cleaned_data["remove"]):
        try:
            poster_background_set(file=None if form.cleaned_data["remove"] else upload)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("console-distribution-posters", slug=tenant.slug)
        messages.success(request, _("The poster background is saved."))
    else:
        messages.error(request, _("Choose a picture, or use the plain colour."))
    return redirect("console-distribution-posters", slug=tenant.slug)


@require_GET
@never_cache
def poster_template_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The saved template drawn with sample content, as a PNG."""
    console_tenant(request)
    return HttpResponse(poster_preview(), content_type="image/png")
