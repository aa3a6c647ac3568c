from infra import planes


class DistributionConfig(planes.PlaneAppConfig):
    name = "distribution"
    plane = "tenant"
    verbose_name = "Distribution"
