"""Forms of the clinic's pages: they parse what the browser sent into the shapes the services
take, and put every refusal next to the field it concerns, in words."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms

from cryoderm.clinic.records.models import (
    CalibrationRecord,
    Client,
    Device,
    InstrumentalMeasure,
    MaintenanceRecord,
    OutcomeScore,
    Photo,
)
from cryoderm.clinic.records.services import outcomes as outcome_service
from cryoderm.clinical.limits import load_safety_limits
from cryoderm.clinical.rules import load_rulebook
from cryoderm.data import labels

RECENT_PROCEDURE_ROWS = 3  # rows offered on the screening form; more are rare in one visit


def apply_error(form: forms.Form, error: Exception, field_for: Callable[[str], str | None]) -> None:
    """Attach a service or clinical error to the form field it names (else to the form).

    ``error.field`` is the service's path (``recent_procedures[0].date``); ``field_for`` maps it
    to a form field name."""
    path = getattr(error, "field", None)
    name = field_for(path) if isinstance(path, str) else None
    message = getattr(error, "message", None) or str(error)
    if name is not None and name in form.fields:
        form.add_error(name, message)
    else:
        form.add_error(None, message)


def zone_choices(zones: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    return [(z, labels.label("zone", z)) for z in zones]


class ScreeningForm(forms.Form):
    """The screening questionnaire, built from the rulebook (data/contraindications.toml)."""

    # Shown, not asked: the screening service takes the age from the record's date of birth.
    age_years = forms.FloatField(
        label="Age (years)",
        min_value=0,
        max_value=120,
        required=False,
        disabled=True,
        help_text="From the date of birth in the client's record.",
    )
    sex = forms.ChoiceField(
        label="Sex",
        required=False,
        choices=[("", "Not given"), ("female", "Female"), ("male", "Male")],
        help_text="Selects the skin-thickness tables.",
    )
    fitzpatrick = forms.TypedChoiceField(
        label="Fitzpatrick skin type",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Not recorded")] + [(str(n), f"Type {n}") for n in range(1, 7)],
    )
    systolic_mmhg = forms.FloatField(
        label="Systolic blood pressure today (mmHg)", required=False, min_value=50, max_value=300
    )
    diastolic_mmhg = forms.FloatField(
        label="Diastolic blood pressure today (mmHg)", required=False, min_value=20, max_value=200
    )
    conditions = forms.MultipleChoiceField(
        label="Does the client have any of these?",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    modality = forms.ChoiceField(label="Planned modality", required=False)
    zones = forms.MultipleChoiceField(
        label="Zones to be treated", required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rulebook = load_rulebook()
        self.rulebook = rulebook
        self.fields["conditions"].choices = [(r.id, r.label) for r in rulebook.conditions.values()]
        self.fields["modality"].choices = [("", "Any modality (strictest)")] + [
            (m, labels.label("modality", m)) for m in rulebook.modalities
        ]
        self.fields["zones"].choices = zone_choices(rulebook.zones)
        self.area_conditions = [r for r in rulebook.conditions.values() if r.scope == "area"]
        for rule in self.area_conditions:
            self.fields[f"zones_{rule.id}"] = forms.MultipleChoiceField(
                label=f"{rule.label}: affected zones (none ticked: all zones count as affected)",
                required=False,
                widget=forms.CheckboxSelectMultiple,
                choices=zone_choices(rulebook.zones),
            )
        kinds = [("", "No procedure")] + [
            (k, labels.label("procedure", k)) for k in rulebook.procedure_kinds
        ]
        for row in range(RECENT_PROCEDURE_ROWS):
            self.fields[f"procedure_kind_{row}"] = forms.ChoiceField(
                label=f"Recent procedure {row + 1}", required=False, choices=kinds
            )
            self.fields[f"procedure_date_{row}"] = forms.DateField(
                label=f"Date of procedure {row + 1}",
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        systolic, diastolic = data.get("systolic_mmhg"), data.get("diastolic_mmhg")
        if (systolic is None) != (diastolic is None):
            missing = "diastolic_mmhg" if diastolic is None else "systolic_mmhg"
            self.add_error(missing, "Give both blood pressure values, or neither.")
        for row in range(RECENT_PROCEDURE_ROWS):
            kind, date = data.get(f"procedure_kind_{row}"), data.get(f"procedure_date_{row}")
            if kind and date is None:
                self.add_error(f"procedure_date_{row}", "Give the date of this procedure.")
            if date is not None and not kind:
                self.add_error(f"procedure_kind_{row}", "Say which procedure was on this date.")
        return data

    @property
    def procedure_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self[f"procedure_kind_{row}"], self[f"procedure_date_{row}"])
            for row in range(RECENT_PROCEDURE_ROWS)
        ]

    @property
    def area_zone_fields(self) -> list[forms.BoundField]:
        return [self[f"zones_{rule.id}"] for rule in self.area_conditions]

    def answers(self) -> dict[str, Any]:
        """The cleaned form in the plain answers shape of ``clinical.answers.parse_answers``."""
        data = self.cleaned_data
        conditions: list[Any] = []
        for ident in data.get("conditions", []):
            zones = data.get(f"zones_{ident}") or []
            conditions.append({"id": ident, "zones": list(zones)} if zones else ident)
        self.procedure_rows_used = [
            row
            for row in range(RECENT_PROCEDURE_ROWS)
            if data.get(f"procedure_kind_{row}") and data.get(f"procedure_date_{row}")
        ]
        procedures = [
            {
                "kind": data[f"procedure_kind_{row}"],
                "date": data[f"procedure_date_{row}"].isoformat(),
            }
            for row in self.procedure_rows_used
        ]
        answers: dict[str, Any] = {
            "conditions": conditions,
            "recent_procedures": procedures,
        }
        if data.get("sex"):
            answers["sex"] = data["sex"]
        if data.get("fitzpatrick") is not None:
            answers["fitzpatrick"] = data["fitzpatrick"]
        if data.get("systolic_mmhg") is not None and data.get("diastolic_mmhg") is not None:
            answers["blood_pressure_mmhg"] = [data["systolic_mmhg"], data["diastolic_mmhg"]]
        return answers

    def screened_for(self) -> tuple[str | None, tuple[str, ...] | None]:
        """(modality, zones) the verdict is for; None means all of them."""
        modality = self.cleaned_data.get("modality") or None
        zones = tuple(self.cleaned_data.get("zones") or ()) or None
        return modality, zones

    def field_for(self, path: str) -> str | None:
        """Map an answers path (``blood_pressure_mmhg[0]``) to this form's field."""
        if path.startswith("blood_pressure_mmhg"):
            return "diastolic_mmhg" if path.endswith("[1]") else "systolic_mmhg"
        match = re.match(r"recent_procedures\[(\d+)\](?:\.(kind|date))?", path)
        if match:
            used = getattr(self, "procedure_rows_used", [])
            index = int(match.group(1))
            row = used[index] if index < len(used) else index
            return f"procedure_{match.group(2) or 'date'}_{row}"
        if path.startswith("conditions"):
            return "conditions"
        return path if path in ("age_years", "sex", "fitzpatrick", "modality", "zones") else None


REASON_LABEL = "Reason for the correction"


def reason_field() -> forms.CharField:
    """Why a record is corrected: kept with the earlier values in its history."""
    return forms.CharField(
        label=REASON_LABEL,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the record's history with the earlier values.",
    )


class ClientForm(forms.ModelForm):
    """Registering a client: the identity and contact fields of the record. When the client
    may already be registered, ``confirm_new_person`` is shown (see ``ask_confirmation``)."""

    confirm_new_person = forms.BooleanField(
        label="This is another person: register anyway",
        required=False,
        widget=forms.HiddenInput,
    )

    def ask_confirmation(self) -> None:
        self.fields["confirm_new_person"].widget = forms.CheckboxInput()

    class Meta:
        model = Client
        fields = (
            "given_name",
            "family_name",
            "date_of_birth",
            "sex",
            "email",
            "phone",
            "fitzpatrick_type",
        )
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}
        labels = {"fitzpatrick_type": "Fitzpatrick skin type", "date_of_birth": "Date of birth"}


class ClientCorrectionForm(ClientForm):
    """Correcting a client's record: any field of it, with a reason."""

    reason = reason_field()

    class Meta(ClientForm.Meta):
        fields = (*ClientForm.Meta.fields, "notes", "is_archived")
        labels = {**ClientForm.Meta.labels, "is_archived": "Archived (no longer a client)"}


class DeviceCorrectionForm(forms.ModelForm):
    """Correcting a device's record (its modality cannot change), with a reason."""

    reason = reason_field()

    class Meta:
        model = Device
        fields = (
            "manufacturer",
            "model_name",
            "serial_number",
            "commissioned_on",
            "calibration_interval_days",
            "service_interval_days",
            "calibration_tolerance_k",
            "notes",
        )
        widgets = {
            "commissioned_on": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "calibration_interval_days": "Calibration interval (days)",
            "service_interval_days": "Service interval (days)",
            "calibration_tolerance_k": "Calibration tolerance (K)",
        }


class MaintenanceForm(forms.ModelForm):
    class Meta:
        model = MaintenanceRecord
        fields = ("kind", "performed_on", "performed_by", "notes")
        widgets = {
            "performed_on": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "performed_on": "Date performed",
            "performed_by": "Performed by (engineer or company)",
        }


class CalibrationForm(forms.ModelForm):
    """A calibration; whether it passed follows from its deviation and the device's tolerance
    (the calibration service decides)."""

    max_error_c = forms.FloatField(
        label="Largest deviation from the reference (K)",
        min_value=0,
        help_text="The absolute value of the largest difference from the reference instrument.",
    )

    class Meta:
        model = CalibrationRecord
        fields = (
            "performed_on",
            "performed_by",
            "reference_instrument",
            "max_error_c",
            "certificate_ref",
            "notes",
        )
        widgets = {
            "performed_on": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "performed_on": "Date performed",
            "max_error_c": "Largest deviation from the reference (K)",
            "certificate_ref": "Certificate reference",
        }


class CalibrationCorrectionForm(CalibrationForm):
    reason = reason_field()


class SignOffForm(forms.Form):
    """Overriding one ``refer`` finding: a reason, and a second clinician who confirms with
    their own password (two people, not one person clicking twice)."""

    rule_id = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for treating despite the finding", widget=forms.Textarea(attrs={"rows": 3})
    )
    second_username = forms.CharField(label="Second clinician's username")
    second_password = forms.CharField(
        label="Second clinician's password",
        widget=forms.PasswordInput,
        strip=False,
        required=False,
    )
    second_one_time_code = forms.CharField(
        label="or their one-time code",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    #: The sign-off service's field names -> this form's fields.
    FIELD_FOR = {
        "rule_id": "rule_id",
        "reason": "reason",
        "second_clinician": "second_username",
        "second_password": "second_password",
    }


class ConsentSignForm(forms.Form):
    """The client signs the text shown: ``text_sha256`` proves which wording was on screen."""

    text_sha256 = forms.CharField(widget=forms.HiddenInput)
    signer_name = forms.CharField(label="Client's full name", max_length=200)
    signature = forms.CharField(
        widget=forms.HiddenInput(attrs={"id": "id_signature", "data-no-draft": ""}),
        error_messages={"required": "Please sign in the box above."},
    )
    read_confirmed = forms.BooleanField(
        label="The client has read this text and had the chance to ask questions",
        error_messages={"required": "Confirm that the client has read the text."},
    )


class ConsentClosingForm(forms.Form):
    """Withdrawing a consent (the client's decision) or voiding it as entered in error: a
    confirmation and a reason, for the record."""

    reason = forms.CharField(
        label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    confirm = forms.BooleanField(
        label="Confirmed", error_messages={"required": "Tick the confirmation first."}
    )

    def __init__(self, *args: Any, confirm_label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = confirm_label


def goal_choices() -> list[tuple[str, str]]:
    """The catalogue's goals with their labels (data/protocols.toml)."""
    return list(labels.vocabulary("goal").items())


class PlanForm(forms.Form):
    """Goals, zones (from the face map), modality and the device to use."""

    goals = forms.MultipleChoiceField(label="Goals", widget=forms.CheckboxSelectMultiple)
    zones = forms.MultipleChoiceField(
        label="Zones", error_messages={"required": "Pick at least one zone on the face map."}
    )
    modality = forms.ChoiceField(label="Modality")
    device = forms.ModelChoiceField(label="Device", queryset=Device.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = load_safety_limits()
        self.fields["goals"].choices = goal_choices()
        self.fields["zones"].choices = zone_choices(limits.zones)
        self.fields["modality"].choices = [
            (m, labels.label("modality", m)) for m in limits.modalities
        ]
        self.fields["device"].queryset = Device.objects.filter(status=Device.Status.IN_SERVICE)


def scale_choices() -> list[tuple[str, str]]:
    return [
        (scale.id, f"{scale.label}: {scale.anchors}") for scale in outcome_service.scales().values()
    ]


class ScoreForm(forms.Form):
    """A score at follow-up on one of the clinic's scales (data/outcomes.toml)."""

    scale = forms.ChoiceField(label="Scale")
    score = forms.IntegerField(label="Score (scale points)")
    rater = forms.ChoiceField(label="Rated by", choices=OutcomeScore.Rater.choices)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scale"].choices = scale_choices()


class MeasureForm(forms.Form):
    """An instrumental skin measure; the unit follows from the quantity."""

    quantity = forms.ChoiceField(label="Quantity")
    value = forms.FloatField(label="Value (in the unit shown with the quantity)")
    zone = forms.ChoiceField(label="Zone")
    instrument = forms.CharField(label="Instrument", required=False, max_length=120)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ranges = outcome_service.measures()
        self.fields["quantity"].choices = [
            (q, f"{label} ({ranges[q].unit}, {ranges[q].min:g} to {ranges[q].max:g})")
            for q, label in InstrumentalMeasure.Quantity.choices
        ]
        self.fields["zone"].choices = zone_choices(load_safety_limits().zones)


class ScoreCorrectionForm(forms.ModelForm):
    reason = reason_field()

    class Meta:
        model = OutcomeScore
        fields = ("score", "rater", "notes")
        labels = {"score": "Score (scale points)", "rater": "Rated by"}
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}


class MeasureCorrectionForm(forms.ModelForm):
    reason = reason_field()

    class Meta:
        model = InstrumentalMeasure
        fields = ("value", "zone", "instrument")
        labels = {"value": "Value (in the measure's unit)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"] = forms.ChoiceField(
            label="Zone", choices=zone_choices(load_safety_limits().zones)
        )


class PhotoForm(forms.Form):
    """A clinical photograph (JPEG or PNG) of one standard view; the photo service decides
    whether the file is a photograph it may keep."""

    image = forms.FileField(label="Photograph (JPEG or PNG)")
    view = forms.ChoiceField(label="View", choices=Photo.View.choices)
    phase = forms.ChoiceField(label="Before or after", choices=Photo.Phase.choices)
    use = forms.ChoiceField(
        label="Use",
        choices=Photo.Use.choices,
        help_text="Marketing use needs the client's marketing consent as well.",
    )
