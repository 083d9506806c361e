from datetime import date, timedelta

from django import forms

DEFAULT_DAYS = 30
MAX_DAYS = 366  # a year, leap day included; longer ranges make unreadable charts and slow queries
EARLIEST = date(2000, 1, 1)  # long before the shop opened; keeps date arithmetic far from year 1


class DateRangeForm(forms.Form):
    """The admin analytics range: shop days, both ends included. No end means today, no start 30 days
    before the end."""

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("end") or self.today
        if end > self.today:
            # Nothing has happened there yet; refusing it also keeps date arithmetic far from year 9999.
            raise forms.ValidationError("The end date cannot be in the future.", code="future_range")
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start < EARLIEST:
            raise forms.ValidationError(f"Choose dates from {EARLIEST:%-d %B %Y} on.", code="too_early")
        if start > end:
            raise forms.ValidationError("The start date must not be after the end date.", code="reversed_range")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.", code="range_too_long")
        data["start"], data["end"] = start, end
        return data
