"""The gateway's routes; the catch-all proxy comes last, so every own path is matched first."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes import admin, auth, contents, docs, proxy

routers: list[APIRouter] = [docs.router, auth.router, admin.router, contents.router, proxy.router]
