"""The admin pages' small formatting pieces: ages read as a person would say them."""

import pytest
from flask import render_template_string

AGE = '{% from "admin/_macros.html" import age %}{{ age(seconds) }}'


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-0.4, "0 s"),
        (-3.0, "0 s"),
        (0.2, "0 s"),
        (42.6, "43 s"),
        (125, "2 min 5 s"),
        (None, "none"),
    ],
)
def test_age_never_reads_negative(app, seconds, shown):
    with app.test_request_context():
        assert render_template_string(AGE, seconds=seconds) == shown
