from infra import planes


class ShopEventsConfig(planes.PlaneAppConfig):
    name = "shop.events"
    label = "shop_events"
    plane = "tenant"
    verbose_name = "Domain events"
