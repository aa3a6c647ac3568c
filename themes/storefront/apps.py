from infra import planes


class StorefrontConfig(planes.PlaneAppConfig):
    name = "themes.storefront"
    label = "storefront"
    plane = "tenant"
    verbose_name = "Storefront"
