"""The fake WeChat API's mini-program codes (wxa/getwxacodeunlimit) and app tokens
(cgi-bin/stable_token, component/api_authorizer_token), driven by wechatpy's real clients."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import requests
from PIL import Image
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from tests.fakes.wechat import FakeWeChat

APPID = "wx-own-app"
SECRET = "own-secret"


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    with FakeWeChat() as fake:
        fake.add_miniprogram(APPID, SECRET)
        yield fake


def _token(
    fake: FakeWeChat, *, force_refresh: bool = False, secret: str = SECRET
) -> dict[str, object]:
    answer = requests.post(
        f"{fake.base_url}/cgi-bin/stable_token",
        json={
            "grant_type": "client_credential",
            "appid": APPID,
            "secret": secret,
            "force_refresh": force_refresh,
        },
        timeout=5,
    ).json()
    assert isinstance(answer, dict)
    return answer


def _client(fake: FakeWeChat) -> WeChatClient:
    client = WeChatClient(APPID, SECRET, access_token=str(_token(fake)["access_token"]))
    client.API_BASE_URL = f"{fake.base_url}/cgi-bin/"
    client.wxa.API_BASE_URL = f"{fake.base_url}/"
    return client


def test_the_stable_token_is_the_same_until_a_forced_refresh(wechat: FakeWeChat) -> None:
    # when
    first, again, forced = _token(wechat), _token(wechat), _token(wechat, force_refresh=True)
    wrong = _token(wechat, secret="nope")
    # then
    assert first["access_token"] == again["access_token"] != forced["access_token"]
    assert first["expires_in"] == 7200
    assert wrong["errcode"] == 40125


def test_a_code_is_a_png_of_the_asked_width(wechat: FakeWeChat) -> None:
    # when
    answer = _client(wechat).wxa.get_wxa_code_unlimited("AB12", width=300, page="pages/a/b")
    # then
    with Image.open(io.BytesIO(answer.content)) as image:
        assert (image.format, image.size) == ("PNG", (300, 300))
    assert wechat.codes_made == [(APPID, "AB12", "pages/a/b")]


@pytest.mark.parametrize(
    ("setup", "scene", "page", "errcode"),
    [
        ("", "x" * 33, "pages/a/b", 40169),
        ("", "中文", "pages/a/b", 40169),
        ("published", "AB12", "pages/not/published", 41030),
        ("", "AB12", "/pages/a/b", 41030),
        ("quota", "AB12", "pages/a/b", 45009),
    ],
)
def test_bad_codes_are_wechats_errors(
    wechat: FakeWeChat, setup: str, scene: str, page: str, errcode: int
) -> None:
    # given
    if setup == "published":
        wechat.publish_pages(APPID, ("pages/a/b",))
    if setup == "quota":
        wechat.code_quota[APPID] = 0
    client = _client(wechat)
    # when
    with pytest.raises(WeChatClientException) as raised:
        client.wxa.get_wxa_code_unlimited(scene, page=page)
    # then
    assert raised.value.errcode == errcode
    assert wechat.codes_made == []


def test_an_expired_token_is_refused(wechat: FakeWeChat) -> None:
    # given
    client = _client(wechat)
    client.auto_retry = False
    wechat.expire_app_tokens()
    # when
    with pytest.raises(WeChatClientException) as raised:
        client.wxa.get_wxa_code_unlimited("AB12")
    # then
    assert raised.value.errcode == 42001
