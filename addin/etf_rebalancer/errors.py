"""The package's error kinds: one root, each error carrying its English and Korean text.

Errors are raised in the core with both texts and turned into a short cell
message once, at the edge (``udfs.py``, ``cli.py``), in the workbook's language.
"""

from __future__ import annotations


class _Bilingual:
    """English text with an optional Korean translation."""

    __slots__ = ()
    message: str
    message_ko: str | None

    def localized(self, lang: str = "en") -> str:
        """Return the text in ``lang`` (``"en"`` or ``"ko"``); English when no translation."""
        if lang == "ko" and self.message_ko:
            return self.message_ko
        return self.message


class RebalancerError(_Bilingual, Exception):
    """Root of every error this package raises on purpose.

    Parameters
    ----------
    message : str
        English text; names the problem and where it is (ticker, row, setting).
    message_ko : str, optional
        Korean text of the same message; English is used when omitted.
    """

    def __init__(self, message: str, message_ko: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_ko = message_ko


class InputError(RebalancerError):
    """A range, cell or setting the user gave cannot be used as it is."""


class QuoteError(RebalancerError):
    """A price or FX rate could not be had (not found, rate limited, network, bad data)."""


class WorkbookError(RebalancerError):
    """A workbook file is missing, unreadable or lacks the expected sheets."""


class SolverError(RebalancerError):
    """The optimiser failed in a way that no fallback could cover."""


# ---------------------------------------------------------------- kinds of quote errors


class NotFoundError(QuoteError):
    """The provider does not know the symbol (typo, delisted, wrong exchange)."""

    kind = "not found"


class RateLimitedError(QuoteError):
    """The provider answered HTTP 429, or the batch stopped because another request did."""

    kind = "rate limited"


class NetworkError(QuoteError):
    """No answer: DNS failure, refused connection, timeout."""

    kind = "network"


class BadDataError(QuoteError):
    """An answer came back but is not usable (maintenance page, HTML, missing fields)."""

    kind = "bad data"


class OfflineError(QuoteError):
    """Network providers are switched off (``ETF_REBAL_OFFLINE=1`` or ``--offline``)."""

    kind = "offline"


# ---------------------------------------------------------------- kinds of workbook errors


class WorkbookNotFoundError(WorkbookError):
    """The workbook file does not exist."""


class NotAWorkbookError(WorkbookError):
    """The file is not an ``.xlsx`` workbook, or one too damaged to read."""


class MissingSheetsError(WorkbookError):
    """The workbook lacks a sheet the command needs (the message names it)."""


class LiteBuildError(RebalancerError):
    """The embedded code cannot be built (a forbidden import, a missing module)."""


class Notice(_Bilingual):
    """A warning shown to the user (not raised): English and Korean text.

    Used for things a plan or refresh reports alongside its answer: a breached
    cap, a stale price, a greedy fallback.
    """

    __slots__ = ("message", "message_ko")

    def __init__(self, message: str, message_ko: str | None = None) -> None:
        self.message = message
        self.message_ko = message_ko

    def __repr__(self) -> str:
        return f"Notice({self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Notice) and (self.message, self.message_ko) == (
            other.message,
            other.message_ko,
        )

    def __hash__(self) -> int:
        return hash((self.message, self.message_ko))
