from infra import planes


class OrdersConfig(planes.PlaneAppConfig):
    name = "shop.orders"
    label = "orders"
    plane = "tenant"
    verbose_name = "Orders"
