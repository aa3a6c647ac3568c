"""Storefront views on the shop host: public pages, personal pages, theme assets."""

from themes.storefront.views.pages import storefront_home

__all__ = ["storefront_home"]
