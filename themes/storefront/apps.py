from infra import planes


class StorefrontConfig(planes.PlaneAppConfig):
    """The shop's theme is installed on first use (themes.storefront.services.install
    storefront_theme_seed: the first storefront visit or the editor), not at provisioning:
    signup stays as fast as it was and spare schemas stay generic."""

    name = "themes.storefront"
    label = "storefront"
    plane = "tenant"
    verbose_name = "Storefront"
