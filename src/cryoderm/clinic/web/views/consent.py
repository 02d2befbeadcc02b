"""Consent: read the current wording on screen, sign it with a signature pad; the signed
consent is shown frozen, exactly as signed (its text version and hash)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from cryoderm.clinic.records.errors import RecordsError
from cryoderm.clinic.records.models import Client, Consent, ConsentScope
from cryoderm.clinic.records.services import consent as consent_service
from cryoderm.clinic.records.services import corrections
from cryoderm.clinic.web.access import allowed, page
from cryoderm.clinic.web.forms import ConsentClosingForm, ConsentSignForm, apply_error


@page("client.view", "consent.record")
def consent_list(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    scopes = [
        {
            "scope": scope,
            "label": label,
            "text": consent_service.current_text(scope),
            "active": consent_service.active(client, scope),
        }
        for scope, label in ConsentScope.choices
    ]
    history = client.consents.select_related("text")
    return render(
        request, "web/consent/list.html", {"client": client, "scopes": scopes, "history": history}
    )


@page("client.view", "consent.record")
def consent_sign(request: HttpRequest, pk: int, scope: str) -> HttpResponse:
    client = get_object_or_404(Client, pk=pk)
    if scope not in ConsentScope.values:
        return redirect("web:consent_list", client.pk)
    text = consent_service.current_text(scope)
    form = ConsentSignForm(
        request.POST or None, initial={"text_sha256": text.sha256 if text else ""}
    )
    if request.method == "POST" and form.is_valid():
        if text is None or form.cleaned_data["text_sha256"] != text.sha256:
            form.add_error(
                None,
                "The wording changed while this page was open: read the new version, then sign.",
            )
        else:
            try:
                consent = consent_service.sign(
                    request.user,
                    client.pk,
                    scope,
                    signer_name=form.cleaned_data["signer_name"],
                    signature=form.cleaned_data["signature"],
                    ip_address=request.META.get("REMOTE_ADDR"),
                    user_agent=request.headers.get("User-Agent", ""),
                )
            except RecordsError as error:
                apply_error(form, error, lambda f: f)
            else:
                messages.success(request, f"{consent.get_scope_display()} consent signed.")
                return redirect("web:consent", consent.pk)
    return render(
        request,
        "web/consent/sign.html",
        {"client": client, "text": text, "form": form, "scope_label": ConsentScope(scope).label},
    )


@page("client.view", "consent.record")
def consent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    consent = get_object_or_404(
        Consent.objects.select_related("client", "text", "witnessed_by", "withdrawn_by"), pk=pk
    )
    withdraw_form = ConsentClosingForm(
        prefix="w", confirm_label="The client confirms that they withdraw this consent"
    )
    error_form = ConsentClosingForm(
        prefix="e", confirm_label="This consent was recorded by mistake (wrong client or scope)"
    )
    if request.method == "POST":
        closing = "withdraw" in request.POST
        form = ConsentClosingForm(
            request.POST,
            prefix="w" if closing else "e",
            confirm_label=(withdraw_form if closing else error_form).fields["confirm"].label,
        )
        if closing:
            withdraw_form = form
        else:
            error_form = form
        if not allowed(request, "consent.withdraw"):
            form.add_error(
                None, "Your role may not withdraw a consent or mark it entered in error."
            )
        elif form.is_valid():
            close = consent_service.withdraw if closing else consent_service.mark_entered_in_error
            try:
                close(
                    request.user,
                    consent.pk,
                    reason=form.cleaned_data["reason"],
                    confirmed=form.cleaned_data["confirm"],
                )
            except RecordsError as error:
                apply_error(form, error, lambda f: f)
            else:
                messages.success(
                    request,
                    "The withdrawal is recorded."
                    if closing
                    else "The consent is marked as entered in error.",
                )
                return redirect("web:consent", consent.pk)
    return render(
        request,
        "web/consent/detail.html",
        {
            "consent": consent,
            "signature_box": consent_service.signature_box(consent.signature),
            "history": corrections.history((Consent, [consent.pk])),
            "may_close": allowed(request, "consent.withdraw"),
            "withdraw_form": withdraw_form,
            "error_form": error_form,
        },
    )
