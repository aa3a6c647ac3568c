"""Billing's endpoints on the platform host (included under /webhooks/)."""

from django.urls import path

from billing.api.webhooks import StripeConnectWebhookApi

urlpatterns = [
    path("stripe/connect", StripeConnectWebhookApi.as_view(), name="webhook-stripe-connect"),
]
