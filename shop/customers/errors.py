"""Domain errors of members, with stable codes."""

from __future__ import annotations

from infra.errors import Conflict, DomainError, NotFound


class CodeTooSoonError(DomainError):
    code = "code_too_soon"
    status_code = 429
    default_message = "A code was sent a moment ago. Please wait a minute."


class LoginCodeLimitedError(DomainError):
    code = "login_code_limited"
    status_code = 429
    default_message = "Too many codes were asked for. Try again later."


class CodeInvalidError(DomainError):
    code = "code_invalid"
    default_message = "The code is wrong or has expired."


class CodeTooManyAttemptsError(DomainError):
    code = "code_too_many_attempts"
    status_code = 429
    default_message = "Too many wrong codes. Ask for a new one."


class ConsentRequiredError(DomainError):
    code = "consent_required"
    default_message = "Accept the shop's privacy policy to register."


class MemberInactiveError(DomainError):
    code = "member_inactive"
    status_code = 403
    default_message = "This member account is disabled."


class AddressLimitReachedError(DomainError):
    code = "address_limit_reached"
    status_code = 409
    default_message = "You have too many addresses. Delete one first."


class WeChatIdentityTakenError(DomainError):
    code = "wechat_identity_taken"
    status_code = 409
    default_message = "This WeChat account is bound to another member of this shop."


class RedirectUriInvalidError(DomainError):
    code = "redirect_uri_invalid"
    default_message = "WeChat can only send you back to a page of this shop."


class OAuthStateInvalidError(DomainError):
    code = "oauth_state_invalid"
    default_message = "The WeChat authorization has expired or is not yours. Start again."


class StoreBalanceInsufficientError(DomainError):
    code = "insufficient_store_balance"
    status_code = 409
    default_message = "The store balance is not enough for this."


class StoreBalanceReplayMismatchError(Conflict):
    code = "store_balance_replay_mismatch"
    default_message = "This store balance change was already made with different details."


class StoreBalanceAmountInvalidError(DomainError):
    code = "store_balance_amount_invalid"
    default_message = "The amount must be a positive whole number of minor units."


class StoreBalanceKeyInvalidError(DomainError):
    code = "store_balance_key_invalid"
    default_message = "The source, its id or the memo of a store balance change is not valid."


class MemberNotFoundError(NotFound):
    code = "member_not_found"
    default_message = "No such member in this shop."
