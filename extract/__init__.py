"""Document bytes -> Report: the report tables as canonical cells, with report-level checks."""

from extract.document import extract_document
from extract.errors import ExtractionError
from extract.limits import extract_with_limit
from extract.model import CheckResult, Report, Status

__all__ = ["CheckResult", "ExtractionError", "Report", "Status", "extract_document",
           "extract_with_limit"]
