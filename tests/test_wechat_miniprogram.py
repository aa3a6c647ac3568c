"""Shops' mini-programs in the control plane: registration, the AppSecret at rest, the component's
durable state, and code-to-session against the fake WeChat API with wechatpy's real clients."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings
from wechatpy.component import WeChatComponent

from infra.crypto import decrypt_text
from infra.errors import DomainError, ValidationFailed
from tenants.gateways.wechat_storage import DatabaseStorage, component_storage_prefix
from tenants.models import AuditLog, MiniProgram, MiniProgramMode, Tenant, WeChatCredential
from tenants.services.audit import AuditContext
from tenants.services.wechat import (
    WeChatSession,
    miniprogram_code_to_session,
    miniprogram_register,
)
from tests.fakes.wechat import FakeWeChat
from tests.support.wechat import (
    BETA_APPID,
    COMPONENT_APPID,
    COMPONENT_SECRET,
    HOSTED_APPID,
    OWN_APPID,
    OWN_SECRET,
    fake_wechat,
    hosted_miniprogram,
    own_miniprogram,
    paths,
)


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    with fake_wechat() as fake:
        yield fake


@pytest.fixture
def alpha(shops: dict[str, Tenant], public: None) -> Tenant:
    return shops["alpha"]


def _register(tenant: Tenant, **fields: object) -> MiniProgram:
    arguments: dict[str, object] = {
        "appid": OWN_APPID,
        "mode": MiniProgramMode.OWN,
        "app_secret": OWN_SECRET,
        **fields,
    }
    return miniprogram_register(
        tenant=tenant,
        context=AuditContext.system(),
        **arguments,  # type: ignore[arg-type]
    )


def _field_codes(error: ValidationFailed) -> dict[str, list[str]]:
    return {name: [item["code"] for item in items] for name, items in error.fields.items()}


def _row_text(miniprogram: MiniProgram) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(t)::text FROM public.tenants_miniprogram t WHERE id = %s",
            [miniprogram.pk],
        )
        return str(cursor.fetchone()[0])


# --- registration


def test_an_own_miniprogram_is_registered_with_its_secret_encrypted(alpha: Tenant) -> None:
    # when
    miniprogram = _register(alpha, appid=" WX0123456789ABCDEF ")
    # then
    stored = MiniProgram.objects.get(tenant=alpha)
    assert (stored.pk, stored.appid, stored.mode) == (miniprogram.pk, OWN_APPID, "own")
    assert OWN_SECRET not in _row_text(stored)
    assert decrypt_text(stored.app_secret_encrypted) == OWN_SECRET
    audit = AuditLog.objects.get(action="miniprogram.registered")
    assert (audit.tenant_id, audit.target_id) == (alpha.pk, str(stored.pk))
    assert audit.data == {"appid": OWN_APPID, "mode": "own", "secret_changed": True}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"appid": "wx123"}, {"appid": ["invalid"]}),
        ({"appid": "gh0123456789abcdef"}, {"appid": ["invalid"]}),
        ({"appid": "wx0123456789abcdeg"}, {"appid": ["invalid"]}),
        ({"mode": "hosted"}, {"mode": ["invalid_choice"]}),
        ({"app_secret": None}, {"app_secret": ["required"]}),
        ({"app_secret": "  "}, {"app_secret": ["required"]}),
        ({"app_secret": "not-a-secret"}, {"app_secret": ["invalid"]}),
    ],
)
def test_invalid_registrations_are_field_errors_and_store_nothing(
    alpha: Tenant, fields: dict[str, object], expected: dict[str, list[str]]
) -> None:
    # when
    with pytest.raises(ValidationFailed) as raised:
        _register(alpha, **fields)
    # then
    assert raised.value.code == "validation_failed"
    assert _field_codes(raised.value) == expected
    assert not MiniProgram.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="miniprogram.").exists()


def test_an_update_with_an_empty_secret_keeps_the_saved_one(alpha: Tenant) -> None:
    # given
    first = _register(alpha)
    saved = first.app_secret_encrypted
    # when
    updated = _register(alpha, app_secret="")
    # then
    assert updated.pk == first.pk
    assert MiniProgram.objects.get().app_secret_encrypted == saved
    audit = AuditLog.objects.get(action="miniprogram.updated")
    assert audit.data == {"appid": OWN_APPID, "mode": "own", "secret_changed": False}


def test_another_appid_needs_its_own_secret(alpha: Tenant) -> None:
    # given
    _register(alpha)
    # when
    with pytest.raises(ValidationFailed) as raised:
        _register(alpha, appid="wx2222222222222222", app_secret=None)
    # then
    assert _field_codes(raised.value) == {"app_secret": ["required"]}
    assert MiniProgram.objects.get().appid == OWN_APPID


def test_switching_to_the_component_drops_the_secret(alpha: Tenant) -> None:
    # given
    _register(alpha)
    # when
    _register(alpha, appid=HOSTED_APPID, mode=MiniProgramMode.COMPONENT, app_secret=OWN_SECRET)
    # then
    stored = MiniProgram.objects.get()
    assert (stored.appid, stored.mode, stored.app_secret_encrypted) == (
        HOSTED_APPID,
        "component",
        "",
    )


def test_an_appid_belongs_to_one_shop(alpha: Tenant, shops: dict[str, Tenant]) -> None:
    # given
    _register(shops["beta"], appid=BETA_APPID)
    _register(alpha)
    # when
    with pytest.raises(ValidationFailed) as raised:
        _register(alpha, appid=BETA_APPID)
    # then
    assert _field_codes(raised.value) == {"appid": ["appid_taken"]}
    assert dict(MiniProgram.objects.values_list("tenant_id", "appid")) == {
        shops["beta"].pk: BETA_APPID,
        alpha.pk: OWN_APPID,
    }
    assert AuditLog.objects.filter(action="miniprogram.updated").count() == 0


# --- code to session, own mode


def test_own_mode_asks_jscode2session_with_the_merchants_secret(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    own_miniprogram(alpha)
    code = wechat.code_for(OWN_APPID, "openid-1", unionid="union-1")
    # when
    session = miniprogram_code_to_session(tenant_id=alpha.pk, code=code)
    # then
    assert (session.appid, session.openid, session.unionid) == (OWN_APPID, "openid-1", "union-1")
    assert session.session_key
    assert session.session_key not in repr(session)
    assert paths(wechat) == ["/sns/jscode2session"]
    assert wechat.requests[0].query == {
        "appid": OWN_APPID,
        "secret": OWN_SECRET,
        "js_code": code,
        "grant_type": "authorization_code",
    }


def test_a_shop_without_a_miniprogram_is_not_configured(alpha: Tenant, wechat: FakeWeChat) -> None:
    # when
    with pytest.raises(DomainError) as raised:
        miniprogram_code_to_session(tenant_id=alpha.pk, code="any-code")
    # then
    assert (raised.value.code, raised.value.status_code) == ("miniprogram_not_configured", 400)
    assert wechat.requests == []


@pytest.mark.parametrize(
    ("errcode", "expected"),
    [
        (40029, ("wechat_code_invalid", 400)),
        (40163, ("wechat_code_used", 400)),
        (40226, ("wechat_user_blocked", 403)),
        (40125, ("miniprogram_misconfigured", 400)),
        (40013, ("miniprogram_misconfigured", 400)),
        (-1, ("wechat_unavailable", 503)),
        (45011, ("wechat_unavailable", 503)),
        (45009, ("wechat_unavailable", 503)),
        (48001, ("wechat_login_failed", 502)),
    ],
)
def test_wechat_error_codes_become_domain_errors(
    alpha: Tenant, wechat: FakeWeChat, errcode: int, expected: tuple[str, int]
) -> None:
    # given
    own_miniprogram(alpha)
    wechat.fail_next(1, errcode=errcode)
    # when
    with pytest.raises(DomainError) as raised:
        miniprogram_code_to_session(tenant_id=alpha.pk, code=wechat.code_for(OWN_APPID, "openid-1"))
    # then
    assert (raised.value.code, raised.value.status_code) == expected


def test_a_used_code_is_refused_as_used(alpha: Tenant, wechat: FakeWeChat) -> None:
    # given
    own_miniprogram(alpha)
    code = wechat.code_for(OWN_APPID, "openid-1")
    miniprogram_code_to_session(tenant_id=alpha.pk, code=code)
    # when
    with pytest.raises(DomainError) as raised:
        miniprogram_code_to_session(tenant_id=alpha.pk, code=code)
    # then
    assert raised.value.code == "wechat_code_used"


@pytest.mark.parametrize("failure", ["http_503", "timeout", "connection_refused"])
def test_wechat_down_is_wechat_unavailable_and_logs_no_secret(
    alpha: Tenant,
    wechat: FakeWeChat,
    caplog: pytest.LogCaptureFixture,
    settings: Settings,
    failure: str,
) -> None:
    # given
    own_miniprogram(alpha)
    code = wechat.code_for(OWN_APPID, "openid-1")
    if failure == "http_503":
        wechat.fail_next(1, http_status=503)
    elif failure == "timeout":
        wechat.latency_s = 1.0
        settings.WECHAT_TIMEOUT_S = 0.2
    else:
        settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"
    # when
    with caplog.at_level(logging.DEBUG), pytest.raises(DomainError) as raised:
        miniprogram_code_to_session(tenant_id=alpha.pk, code=code)
    # then
    assert (raised.value.code, raised.value.status_code) == ("wechat_unavailable", 503)
    assert "WeChat unreachable" in caplog.text
    assert OWN_SECRET not in caplog.text
    assert code not in caplog.text
    assert OWN_SECRET not in str(raised.value)
    assert raised.value.__cause__ is None


def test_an_invalid_code_is_refused_before_wechat_is_asked(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    own_miniprogram(alpha)
    # when
    with pytest.raises(ValidationFailed) as raised:
        miniprogram_code_to_session(tenant_id=alpha.pk, code="  ")
    # then
    assert _field_codes(raised.value) == {"code": ["invalid"]}
    assert wechat.requests == []


# --- code to session, component mode


def test_component_mode_uses_the_component_token(alpha: Tenant, wechat: FakeWeChat) -> None:
    # given
    hosted_miniprogram(alpha, wechat)
    code = wechat.code_for(HOSTED_APPID, "openid-h", unionid="union-h")
    # when
    session = miniprogram_code_to_session(tenant_id=alpha.pk, code=code)
    # then
    assert session == WeChatSession(
        appid=HOSTED_APPID, openid="openid-h", unionid="union-h", session_key=session.session_key
    )
    assert paths(wechat) == [
        "/cgi-bin/component/api_component_token",
        "/sns/component/jscode2session",
    ]
    token = DatabaseStorage(component_storage_prefix(COMPONENT_APPID)).get("component_access_token")
    assert wechat.requests[1].query == {
        "appid": HOSTED_APPID,
        "js_code": code,
        "grant_type": "authorization_code",
        "component_appid": COMPONENT_APPID,
        "component_access_token": token,
    }


def test_the_component_token_is_kept_encrypted_and_reused(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    hosted_miniprogram(alpha, wechat)
    miniprogram_code_to_session(tenant_id=alpha.pk, code=wechat.code_for(HOSTED_APPID, "o-1"))
    # when
    miniprogram_code_to_session(tenant_id=alpha.pk, code=wechat.code_for(HOSTED_APPID, "o-2"))
    # then
    assert paths(wechat) == [
        "/cgi-bin/component/api_component_token",
        "/sns/component/jscode2session",
        "/sns/component/jscode2session",
    ]
    token = wechat.requests[1].query["component_access_token"]
    assert wechat.requests[2].query["component_access_token"] == token
    rows = {row.key: row for row in WeChatCredential.objects.all()}
    prefix = component_storage_prefix(COMPONENT_APPID)
    assert sorted(rows) == [
        f"{prefix}:component_access_token",
        f"{prefix}:component_verify_ticket",
    ]
    assert token not in rows[f"{prefix}:component_access_token"].value_encrypted
    assert rows[f"{prefix}:component_access_token"].expires_at is not None


def test_an_expired_component_token_is_renewed_and_the_login_retried(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    hosted_miniprogram(alpha, wechat)
    miniprogram_code_to_session(tenant_id=alpha.pk, code=wechat.code_for(HOSTED_APPID, "o-1"))
    first_token = wechat.requests[1].query["component_access_token"]
    wechat.expire_component_tokens()
    # when
    session = miniprogram_code_to_session(
        tenant_id=alpha.pk, code=wechat.code_for(HOSTED_APPID, "o-2")
    )
    # then
    assert session.openid == "o-2"
    assert paths(wechat)[2:] == [
        "/sns/component/jscode2session",
        "/cgi-bin/component/api_component_token",
        "/sns/component/jscode2session",
    ]
    assert wechat.requests[2].query["component_access_token"] == first_token
    assert wechat.requests[4].query["component_access_token"] != first_token


def test_a_token_refused_after_renewal_is_wechat_unavailable(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given: WeChat refuses every token twice in a row
    hosted_miniprogram(alpha, wechat)
    miniprogram_code_to_session(tenant_id=alpha.pk, code=wechat.code_for(HOSTED_APPID, "o-1"))
    wechat.fail_next(1, errcode=40001)
    wechat.fail_next(1)  # the renewal itself fails with a system error
    # when
    with pytest.raises(DomainError) as raised:
        miniprogram_code_to_session(tenant_id=alpha.pk, code=wechat.code_for(HOSTED_APPID, "o-2"))
    # then: one renewal attempt, no endless retries
    assert raised.value.code == "wechat_unavailable"
    assert paths(wechat)[2:] == [
        "/sns/component/jscode2session",
        "/cgi-bin/component/api_component_token",
    ]


def test_without_a_verify_ticket_component_login_is_unavailable_and_wechat_not_asked(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    _register(alpha, appid=HOSTED_APPID, mode=MiniProgramMode.COMPONENT, app_secret=None)
    # when
    with pytest.raises(DomainError) as raised:
        miniprogram_code_to_session(tenant_id=alpha.pk, code=wechat.code_for(HOSTED_APPID, "o-1"))
    # then
    assert (raised.value.code, raised.value.status_code) == ("wechat_unavailable", 503)
    assert wechat.requests == []


def test_a_miniprogram_no_longer_authorized_to_the_component_is_misconfigured(
    alpha: Tenant, wechat: FakeWeChat
) -> None:
    # given
    hosted_miniprogram(alpha, wechat)
    wechat.deauthorize(COMPONENT_APPID, HOSTED_APPID)
    # when
    with pytest.raises(DomainError) as raised:
        miniprogram_code_to_session(tenant_id=alpha.pk, code=wechat.code_for(HOSTED_APPID, "o-1"))
    # then
    assert raised.value.code == "miniprogram_misconfigured"


# --- the component's durable storage


def test_wechatpy_stores_a_pushed_verify_ticket_in_the_database(
    public: None, wechat: FakeWeChat
) -> None:
    # given
    registered = wechat.component(COMPONENT_APPID)
    storage = DatabaseStorage(component_storage_prefix(COMPONENT_APPID))
    component = WeChatComponent(
        COMPONENT_APPID,
        COMPONENT_SECRET,
        registered.token,
        registered.encoding_aes_key,
        session=storage,
    )
    query, body = wechat.ticket_push(COMPONENT_APPID)
    # when
    component.parse_message(body, query["msg_signature"], query["timestamp"], query["nonce"])
    # then
    assert storage.get("component_verify_ticket") == registered.verify_ticket
    row = WeChatCredential.objects.get()
    assert row.key == f"wechat:component:{COMPONENT_APPID}:component_verify_ticket"
    assert registered.verify_ticket not in row.value_encrypted
    assert row.expires_at is None


def test_storage_values_expire_and_prefixes_keep_components_apart(public: None) -> None:
    # given
    ours = DatabaseStorage(component_storage_prefix(COMPONENT_APPID))
    other = DatabaseStorage(component_storage_prefix("wxdddddddddddddddd"))
    ours.set("component_access_token", "token-1", 7200)
    other.set("component_access_token", "token-2", 7200)
    ours.set("component_verify_ticket", "ticket-1")
    # when: our token's time passes; the ticket is replaced
    WeChatCredential.objects.filter(
        key__endswith=f"{COMPONENT_APPID}:component_access_token"
    ).update(expires_at=timezone.now() - timedelta(seconds=1))
    ours.set("component_verify_ticket", "ticket-2")
    ours.set("ignored", None)
    # then
    assert ours.get("component_access_token", "missing") == "missing"
    assert other.get("component_access_token") == "token-2"
    assert ours.get("component_verify_ticket") == "ticket-2"
    assert WeChatCredential.objects.count() == 3
    ours.delete("component_verify_ticket")
    assert ours.get("component_verify_ticket") is None
