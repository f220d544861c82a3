"""A bilingual (Chinese/English) HTML report for people."""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment, PackageLoader, select_autoescape

from sealbridge.verify.report.model import ValidationReport

_ENV = Environment(
    loader=PackageLoader("sealbridge.verify.report", "templates"),
    autoescape=select_autoescape(["html"]),
)


def render_html(report: ValidationReport) -> str:
    jurisdictions = sorted({j for s in report.signatures for j in s.recognition})
    return _ENV.get_template("report.html").render(report=report, jurisdictions=jurisdictions)


def render_html_many(
    reports: Sequence[ValidationReport], errors: Sequence[tuple[str, str]] = ()
) -> str:
    """One page for a batch; ``errors`` are (file, why) for files that were not verified."""
    jurisdictions = [sorted({j for s in r.signatures for j in s.recognition}) for r in reports]
    return _ENV.get_template("batch.html").render(
        reports=reports, jurisdictions=jurisdictions, errors=errors
    )
