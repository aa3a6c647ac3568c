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


# Who becomes a distributor, and the distributor center (helper "center").


class NotADistributorError(DomainError):
    code = "not_a_distributor"
    status_code = 403
    default_message = "You are not a distributor of this shop (yet)."


class DistributionOffError(Conflict):
    code = "distribution_off"
    default_message = "This shop does not run a distribution programme now."


class DistributorNotFoundError(DomainError):
    code = "distributor_not_found"
    status_code = 404
    default_message = "There is no such distributor in this shop."


class ApplicationNotFoundError(DomainError):
    code = "application_not_found"
    status_code = 404
    default_message = "There is no such distributor application in this shop."


class AlreadyADistributorError(Conflict):
    code = "already_a_distributor"
    default_message = "This member is a distributor already."


class ApplicationPendingError(Conflict):
    code = "application_pending"
    default_message = "An application is already waiting for the shop's review."


class ApplicationDecidedError(Conflict):
    code = "application_already_decided"
    default_message = "This application has been decided already."


class QualificationAppointedOnlyError(Conflict):
    code = "qualification_appointed_only"
    default_message = "In this shop only the merchant appoints distributors."


class QualificationNotMetError(Conflict):
    code = "qualification_not_met"
    default_message = "You do not meet this shop's conditions for distributors yet."


class DistributorStatusInvalidError(Conflict):
    code = "distributor_status_invalid"
    default_message = "The distributor's current status does not allow this."


# Risk holds, regional agents and team bonus (helper "risk").


class RiskFlagNotFoundError(DomainError):
    code = "risk_flag_not_found"
    status_code = 404
    default_message = "This risk hold does not exist."


class RiskFlagReviewedError(Conflict):
    code = "risk_flag_already_reviewed"
    default_message = "This risk hold has been reviewed already."


class RegionalAgentNotFoundError(DomainError):
    code = "regional_agent_not_found"
    status_code = 404
    default_message = "This regional agent does not exist."


class RegionTakenError(Conflict):
    code = "region_taken"
    default_message = "This region already has an active agent."


# Withdrawals (distribution.services.withdrawals).


class WithdrawalNotADistributorError(DomainError):
    code = "withdrawal_not_a_distributor"
    status_code = 403
    default_message = "Only active distributors can withdraw."


class WithdrawalChannelNotAllowedError(DomainError):
    code = "withdrawal_channel_not_allowed"
    status_code = 400
    default_message = "This shop does not pay withdrawals through this channel."


class WithdrawalBelowMinimumError(DomainError):
    code = "withdrawal_below_minimum"
    status_code = 400
    default_message = "The amount is below the shop's minimum withdrawal."


class WithdrawalNothingLeftError(DomainError):
    code = "withdrawal_nothing_left_after_fee"
    status_code = 400
    default_message = "After the fee nothing (or too little for this channel) would be paid."


class WithdrawalDailyLimitError(DomainError):
    code = "withdrawal_daily_limit_exceeded"
    status_code = 409
    default_message = "This would exceed the shop's daily withdrawal limit."


class WithdrawalInsufficientBalanceError(DomainError):
    code = "withdrawal_insufficient_balance"
    status_code = 409
    default_message = "The available balance is less than the amount."


class WithdrawalPayeeMissingError(DomainError):
    code = "withdrawal_payee_missing"
    status_code = 400
    default_message = "Give the account the money should be paid to."


class WithdrawalWeChatIdentityMissingError(DomainError):
    code = "withdrawal_wechat_identity_missing"
    status_code = 400
    default_message = "Sign in with WeChat in this shop first: the money goes to that account."


class WithdrawalNotFoundError(DomainError):
    code = "withdrawal_not_found"
    status_code = 404
    default_message = "No such withdrawal."


class WithdrawalStateError(Conflict):
    code = "withdrawal_state_invalid"
    default_message = "The withdrawal is no longer in a state that allows this."


# Grades and commission rates (helper "grades").


class GradeNotFoundError(DomainError):
    code = "grade_not_found"
    status_code = 404
    default_message = "There is no such grade in this shop."


class GradeInUseError(Conflict):
    code = "grade_in_use"
    default_message = "Distributors hold this grade: give them another grade first."


class ProductRateTargetInvalidError(DomainError):
    code = "product_rate_target_invalid"
    status_code = 400
    default_message = "Choose an existing product, and only one of its own SKUs."


# Referral capture: share links, mini-program codes, posters (helper "share").


class ShareSceneNotFoundError(DomainError):
    code = "share_scene_not_found"
    status_code = 404
    default_message = "This share code is unknown or no longer valid."


class SharePageInvalidError(DomainError):
    code = "share_page_invalid"
    status_code = 400
    default_message = "A mini-program page is a path like pages/index/index."


class PosterFontMissingError(DomainError):
    code = "poster_font_missing"
    status_code = 503
    default_message = (
        "No Chinese font is installed on the server, so posters cannot be drawn "
        "(install Debian's fonts-noto-cjk: make system-deps)."
    )


class PosterImageInvalidError(DomainError):
    code = "poster_image_invalid"
    status_code = 400
    default_message = "Upload a JPEG, PNG or WebP picture of at most 5 MB."


class TeamBonusMonthOpenError(Conflict):
    code = "team_bonus_month_open"
    default_message = "This month has not ended yet in the shop's time zone."


class ExplanationNotFoundError(DomainError):
    code = "explanation_not_found"
    status_code = 404
    default_message = "This order has no commission decision about you."
