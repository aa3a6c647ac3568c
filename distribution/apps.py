from infra import planes


class DistributionConfig(planes.PlaneAppConfig):
    name = "distribution"
    plane = "tenant"
    verbose_name = "Distribution"

    def seed_defaults(self) -> None:
        from distribution.services.settings import distribution_settings_seed

        distribution_settings_seed()
