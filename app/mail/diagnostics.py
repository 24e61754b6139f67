"""The connection doctor's entry point, kept where `flask mail check` and the admin pages
import it from; the doctor itself is the package app/mail/doctor/."""

from app.mail.doctor import Diagnosis, SmtpDiagnosis, Step, diagnose, security_mode
from app.mail.doctor.report import StepFailed, decode, describe, timed_out

__all__ = [
    "Diagnosis",
    "SmtpDiagnosis",
    "Step",
    "StepFailed",
    "decode",
    "describe",
    "diagnose",
    "security_mode",
    "timed_out",
]
