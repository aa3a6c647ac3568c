from infra import planes


class StorefrontConfig(planes.PlaneAppConfig):
    name = "themes.storefront"
    label = "storefront"
    plane = "tenant"
    verbose_name = "Storefront"

    def seed_defaults(self) -> None:
        from themes.storefront.services.install import storefront_theme_seed

        storefront_theme_seed()
