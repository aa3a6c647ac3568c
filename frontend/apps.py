from infra import planes


class FrontendConfig(planes.PlaneAppConfig):
    name = "frontend"
    plane = "control"
    verbose_name = "Consoles"
