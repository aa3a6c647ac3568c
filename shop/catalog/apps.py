from infra import planes


class CatalogConfig(planes.PlaneAppConfig):
    name = "shop.catalog"
    label = "catalog"
    plane = "tenant"
    verbose_name = "Catalog"
