from infra import planes


class CustomersConfig(planes.PlaneAppConfig):
    name = "shop.customers"
    label = "customers"
    plane = "tenant"
    verbose_name = "Members"
