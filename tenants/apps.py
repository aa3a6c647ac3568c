from infra import planes


class TenantsConfig(planes.PlaneAppConfig):
    name = "tenants"
    plane = "control"
    verbose_name = "Tenants and accounts"
