from infra import planes


class ThemePackagesConfig(planes.PlaneAppConfig):
    name = "themes.packages"
    label = "theme_packages"
    plane = "control"
    verbose_name = "Theme packages"
