"""Referral capture: share scenes (short, stable, one per share), share links, the scene lookup
the mini-program makes, and mini-program codes from the fake WeChat API through wechatpy's real
client (own AppSecret and our component), with WeChat's refusals as stable error codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from distribution.models import Distributor, ShareImage, ShareScene
from distribution.services.bindings import distributor_make
from distribution.services.settings import distribution_settings_update
from distribution.services.share import (
    HOME_PAGE,
    PRODUCT_PAGE,
    share_link,
    share_scene_get_or_create,
)
from infra.db import schema_connection
from shop.customers.models import Member
from tenants.gateways.wechat_storage import DatabaseStorage, component_storage_prefix
from tenants.models import Tenant
from tests.fakes.wechat import SCENE_CHARACTERS, FakeWeChat
from tests.support.commerce import member_make, member_token, product_make
from tests.support.wechat import (
    COMPONENT_APPID,
    HOSTED_APPID,
    OWN_APPID,
    fake_wechat,
    hosted_miniprogram,
    own_miniprogram,
    paths,
)

pytestmark = pytest.mark.django_db

SHARE = "/api/v1/distribution/share"
# A repeated share: token, distributor, product (with options, SKUs, images), scene, the
# shop's mini-program, stored images, the template.
SHARE_AGAIN_BUDGET = 15


@pytest.fixture(autouse=True)
def _media(settings: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    with fake_wechat() as fake:
        yield fake


@pytest.fixture
def api() -> Client:
    return Client(HTTP_HOST="alpha.localhost")


def _distributor(nickname: str = "小明") -> tuple[Member, Distributor]:
    member = member_make(nickname=nickname)
    return member, distributor_make(member=member)


def _share(api: Client, member: Member, **body: object) -> dict[str, object]:
    response = api.post(SHARE, body, content_type="application/json", **member_token(member))
    assert response.status_code == 200, response.content
    result: dict[str, object] = response.json()
    return result


def _stored_path(url: object) -> Path:
    """The file behind a media URL (development storage: MEDIA_ROOT/<schema>/…)."""
    text, folder = str(url), f"/media/{schema_connection().schema_name}/"
    assert text.startswith(folder), text
    name = text.removeprefix(folder)
    assert default_storage.exists(name), name
    return Path(default_storage.path(name))


# --- scenes and links


def test_a_scene_is_short_stable_and_one_per_share(shop: Tenant) -> None:
    # given
    _member, distributor = _distributor()
    _other_member, other = _distributor()
    product = product_make()
    # when
    home = share_scene_get_or_create(distributor=distributor, product_id=None, page=HOME_PAGE)
    again = share_scene_get_or_create(distributor=distributor, product_id=None, page=HOME_PAGE)
    of_product = share_scene_get_or_create(
        distributor=distributor, product_id=product.pk, page=PRODUCT_PAGE
    )
    of_other = share_scene_get_or_create(distributor=other, product_id=None, page=HOME_PAGE)
    # then
    assert again.pk == home.pk
    assert again.scene == home.scene
    assert len({home.scene, of_product.scene, of_other.scene}) == 3
    for scene in (home, of_product, of_other):
        assert 1 <= len(scene.scene) <= 32
        assert set(scene.scene) <= SCENE_CHARACTERS
    assert ShareScene.objects.count() == 3


def test_the_share_link_is_the_storefront_or_the_product_page_with_the_code(
    shop: Tenant,
) -> None:
    # given
    _member, distributor = _distributor()
    # when
    home = share_link(code=distributor.code)
    product = share_link(code=distributor.code, product_id=42)
    # then
    assert home == f"http://alpha.localhost:8000/?ref={distributor.code}"
    assert product == f"http://alpha.localhost:8000/products/42?ref={distributor.code}"


def test_the_scene_api_tells_the_code_product_and_page(shop: Tenant, api: Client) -> None:
    # given
    _member, distributor = _distributor()
    product = product_make()
    scene = share_scene_get_or_create(
        distributor=distributor, product_id=product.pk, page=PRODUCT_PAGE
    )
    # when: the mini-program asks before anyone logged in
    with CaptureQueriesContext(schema_connection()) as captured:
        response = api.get(f"/api/v1/distribution/scenes/{scene.scene}")
    unknown = api.get("/api/v1/distribution/scenes/NOSUCHSCENE")
    # then
    assert response.status_code == 200, response.content
    assert response.json() == {
        "code": distributor.code,
        "product_id": product.pk,
        "page": PRODUCT_PAGE,
    }
    assert len(captured.captured_queries) <= 2, captured.captured_queries
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "share_scene_not_found"


def test_a_disabled_distributors_scene_no_longer_resolves(shop: Tenant, api: Client) -> None:
    # given
    _member, distributor = _distributor()
    scene = share_scene_get_or_create(distributor=distributor, product_id=None, page=HOME_PAGE)
    Distributor.objects.filter(pk=distributor.pk).update(status=Distributor.Status.DISABLED)
    # when
    response = api.get(f"/api/v1/distribution/scenes/{scene.scene}")
    # then
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "share_scene_not_found"


# --- the share API


def test_a_share_without_a_miniprogram_gives_link_qr_and_poster(shop: Tenant, api: Client) -> None:
    # given
    member, distributor = _distributor()
    product = product_make(title="龙井茶", price_minor=12800)
    # when
    first = _share(api, member, product_id=product.pk)
    with CaptureQueriesContext(schema_connection()) as captured:
        second = _share(api, member, product_id=product.pk)
    # then: the second share found everything stored (no drawing, within its query budget)
    assert first == second
    assert len(captured.captured_queries) <= SHARE_AGAIN_BUDGET, captured.captured_queries
    assert (
        first["link"] == f"http://alpha.localhost:8000/products/{product.pk}?ref={distributor.code}"
    )
    assert first["miniprogram_code_url"] is None
    scene = ShareScene.objects.get(distributor=distributor)
    assert (first["scene"], scene.product_id, scene.page) == (scene.scene, product.pk, PRODUCT_PAGE)
    with Image.open(_stored_path(first["qr_url"])) as qr:
        assert qr.format == "PNG"
    with Image.open(_stored_path(first["poster_url"])) as poster:
        assert (poster.format, poster.size) == ("PNG", (750, 1334))
    assert sorted(ShareImage.objects.values_list("kind", flat=True)) == ["poster", "qr"]


def test_a_first_share_makes_a_member_a_distributor_when_everyone_may_be_one(
    shop: Tenant, api: Client
) -> None:
    # given: distribution on; every member may distribute; a member who never shared
    distribution_settings_update(changes={"enabled": True, "qualification": "everyone"}, actor="t")
    member = member_make()
    # when: they share for the first time
    result = _share(api, member)
    # then: they are an active distributor now, and the link carries their new code
    distributor = Distributor.objects.get(member=member)
    assert distributor.status == Distributor.Status.ACTIVE
    assert f"ref={distributor.code}" in str(result["link"])


def test_a_first_share_does_not_skip_the_review(shop: Tenant, api: Client) -> None:
    # given: members must apply and be reviewed
    distribution_settings_update(
        changes={"enabled": True, "qualification": "apply_review"}, actor="t"
    )
    member = member_make()
    # when
    response = api.post(SHARE, {}, content_type="application/json", **member_token(member))
    # then
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_a_distributor"
    assert not Distributor.objects.filter(member=member).exists()


def test_only_an_active_distributor_may_share(shop: Tenant, api: Client) -> None:
    # given
    plain = member_make()
    disabled, distributor = _distributor()
    Distributor.objects.filter(pk=distributor.pk).update(status=Distributor.Status.DISABLED)
    # when
    responses = [
        api.post(SHARE, {}, content_type="application/json", **member_token(who))
        for who in (plain, disabled)
    ]
    anonymous = api.post(SHARE, {}, content_type="application/json")
    # then
    assert [r.status_code for r in responses] == [403, 403]
    assert {r.json()["error"]["code"] for r in responses} == {"not_a_distributor"}
    assert anonymous.status_code == 401
    assert not ShareScene.objects.exists()
    assert not ShareImage.objects.exists()


def test_a_product_not_on_sale_or_a_bad_page_is_refused(shop: Tenant, api: Client) -> None:
    # given
    member, _distributor_row = _distributor()
    # when
    missing = api.post(
        SHARE, {"product_id": 999999}, content_type="application/json", **member_token(member)
    )
    bad_page = api.post(
        SHARE, {"page": "pages/x?y=1"}, content_type="application/json", **member_token(member)
    )
    # then
    assert missing.status_code == 404
    assert bad_page.status_code == 400
    assert bad_page.json()["error"]["code"] == "share_page_invalid"
    assert not ShareScene.objects.exists()
    assert not ShareImage.objects.exists()


# --- mini-program codes through the fake WeChat API


def test_an_own_miniprogram_gets_its_code_once_per_scene(
    shop: Tenant, api: Client, wechat: FakeWeChat
) -> None:
    # given
    own_miniprogram(shop)
    member, _distributor_row = _distributor()
    # when
    first = _share(api, member)
    second = _share(api, member)
    # then: WeChat made one code (the second share found it stored), for the scene and home page
    assert first == second
    assert wechat.codes_made == [(OWN_APPID, str(first["scene"]), HOME_PAGE)]
    assert paths(wechat).count("/cgi-bin/stable_token") == 1
    with Image.open(_stored_path(first["miniprogram_code_url"])) as code:
        assert (code.format, code.size) == ("PNG", (430, 430))
    assert ShareImage.objects.filter(kind="wxacode").count() == 1


def test_an_expired_app_token_is_renewed_and_the_code_made(
    shop: Tenant, api: Client, wechat: FakeWeChat
) -> None:
    # given: a token was fetched for an earlier code, then WeChat expired it
    own_miniprogram(shop)
    member, _distributor_row = _distributor()
    _share(api, member)
    wechat.expire_app_tokens()
    # when: another share (another scene) needs a new code
    result = _share(api, member, page="pages/shop/index")
    # then
    assert result["miniprogram_code_url"]
    assert [made[2] for made in wechat.codes_made] == [HOME_PAGE, "pages/shop/index"]
    assert paths(wechat).count("/cgi-bin/stable_token") == 2


def test_a_miniprogram_authorized_to_our_component_gets_codes_with_the_authorizer_token(
    shop: Tenant, api: Client, wechat: FakeWeChat
) -> None:
    # given: the authorization stored the authorizer refresh token (as wechatpy's query_auth)
    hosted_miniprogram(shop, wechat)
    DatabaseStorage(component_storage_prefix(COMPONENT_APPID)).set(
        f"{HOSTED_APPID}_refresh_token",
        wechat.authorizer_refresh_token(COMPONENT_APPID, HOSTED_APPID),
    )
    member, _distributor_row = _distributor()
    # when
    result = _share(api, member)
    # then
    assert wechat.codes_made == [(HOSTED_APPID, str(result["scene"]), HOME_PAGE)]
    assert "/cgi-bin/component/api_authorizer_token" in paths(wechat)


def test_a_component_miniprogram_without_its_refresh_token_is_misconfigured(
    shop: Tenant, api: Client, wechat: FakeWeChat
) -> None:
    # given
    hosted_miniprogram(shop, wechat)
    member, _distributor_row = _distributor()
    # when
    response = api.post(SHARE, {}, content_type="application/json", **member_token(member))
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "miniprogram_misconfigured"
    assert not wechat.codes_made
    assert not ShareImage.objects.filter(kind__in=["wxacode", "poster"]).exists()


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ("unpublished_page", 400, "miniprogram_page_invalid"),
        ("quota", 429, "wechat_quota_exceeded"),
        ("busy", 503, "wechat_unavailable"),
    ],
)
def test_wechats_refusals_are_stable_error_codes_and_store_no_code(
    shop: Tenant, api: Client, wechat: FakeWeChat, setup: str, status: int, code: str
) -> None:
    # given
    own_miniprogram(shop)
    member, _distributor_row = _distributor()
    if setup == "unpublished_page":
        wechat.publish_pages(OWN_APPID, (HOME_PAGE,))
    elif setup == "quota":
        wechat.code_quota[OWN_APPID] = 0
    # when
    if setup == "busy":
        _share(api, member)  # the token is fetched and stored; then WeChat is busy
        wechat.fail_next(errcode=-1)
        response = api.post(
            SHARE,
            {"page": "pages/shop/index"},
            content_type="application/json",
            **member_token(member),
        )
    else:
        response = api.post(
            SHARE,
            {"page": "pages/not/released"},
            content_type="application/json",
            **member_token(member),
        )
    # then
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    stored_pages = {made[2] for made in wechat.codes_made}
    assert "pages/not/released" not in stored_pages
    assert "pages/shop/index" not in stored_pages
    expected_codes = 1 if setup == "busy" else 0
    assert ShareImage.objects.filter(kind="wxacode").count() == expected_codes
    if setup == "unpublished_page":  # bad input: nothing is left behind
        assert not ShareScene.objects.exists()
        assert not ShareImage.objects.exists()
