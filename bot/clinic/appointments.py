"""The clinic's kinds of appointment, and how each is named: inside a patient-facing sentence ({appointment} in
domain responses, actions/booking.py) and on the staff console's pages."""

from __future__ import annotations

# inside a response's sentence: "To book your {appointment} at ..."
APPOINTMENT_LABELS = {
    "acc_treatment": "ACC treatment",
    "free_consult": "free 15-minute consultation",
    "treatment": "appointment",
}
# on the staff console: a heading-like name
APPOINTMENT_NAMES = {
    "acc_treatment": "ACC treatment",
    "free_consult": "Free 15-minute consultation",
    "treatment": "Standard treatment",
}
