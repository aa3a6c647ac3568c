"""Distribution errors with stable codes (the API answers them in the error envelope)."""

from __future__ import annotations

from infra.errors import Conflict, DomainError


class LedgerUnbalancedError(DomainError):
    code = "ledger_unbalanced"
    status_code = 400
    default_message = "A ledger posting's amounts must sum to zero."


class LedgerLineInvalidError(DomainError):
    code = "ledger_line_invalid"
    status_code = 400
    default_message = (
        "A ledger posting needs at least two lines, each a saved account with a non-zero whole "
        "amount in minor units, and no account twice."
    )


class LedgerKeyInvalidError(DomainError):
    code = "ledger_key_invalid"
    status_code = 400
    default_message = "A ledger posting needs a source, a source id and a purpose within length."


class LedgerAccountInvalidError(DomainError):
    code = "ledger_account_invalid"
    status_code = 400
    default_message = "Distributor accounts need a member; shop accounts must not have one."


class LedgerReplayMismatchError(Conflict):
    code = "ledger_replay_mismatch"
    default_message = "This ledger key was already posted with other lines."


class LedgerAlreadyReversedError(Conflict):
    code = "ledger_already_reversed"
    default_message = "This ledger transaction has already been reversed."


class RiskAcknowledgementRequiredError(DomainError):
    code = "risk_acknowledgement_required"
    status_code = 400
    default_message = (
        "These settings can break anti-pyramid rules: confirm that you understand the risk."
    )
