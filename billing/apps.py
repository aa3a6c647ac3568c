from infra import planes


class BillingConfig(planes.PlaneAppConfig):
    name = "billing"
    plane = "control"
    verbose_name = "Billing"
