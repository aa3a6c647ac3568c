from infra import planes


class ShopCoreConfig(planes.PlaneAppConfig):
    name = "shop.core"
    label = "shop_core"
    plane = "tenant"
    verbose_name = "Shop profile"

    def seed_defaults(self) -> None:
        from shop.core.services import shop_profile_seed

        shop_profile_seed()
