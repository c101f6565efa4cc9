"""The v1 API router that every app registers its endpoints on."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
