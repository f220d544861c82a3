"""Detection of what changed in a PDF after it was signed (shadow and incremental-save
attacks); ``analyse_changes`` is the entry point."""

from sealbridge.verify.changes.analyse import analyse_after, analyse_changes
from sealbridge.verify.changes.model import (
    Change,
    ChangeAnalysis,
    ChangeKind,
    ChangePolicy,
    Verdict,
)

__all__ = [
    "Change",
    "ChangeAnalysis",
    "ChangeKind",
    "ChangePolicy",
    "Verdict",
    "analyse_after",
    "analyse_changes",
]
