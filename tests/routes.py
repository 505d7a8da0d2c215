"""Every HTTP route of the site, taken from the URL resolver: the one walk the route tests
share (CSRF, access control, the partner API), so a route added to any urls.py is in
all of them the day it is added."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cache

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

# A value of each converter's kind, for requests that need any well-formed value.
SAMPLES = {"uuid": str(uuid.uuid4()), "int": "1", "slug": "x-1", "str": "x-1", "path": "x-1"}
PARAMETER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
# Django admin's two routes written as regular expressions: its app index (requested as
# /admin/<app label>/ by the tests that need it) and its catch-all (redirects). Any other
# regular-expression route fails the walk: the tests could not fill it in.
ADMIN_REGEX_ROUTES = {"admin:app_list", None}


@dataclass(frozen=True)
class Route:
    route: str  # "/desk/c/<uuid:conversation_id>/"
    name: str | None  # "desk:conversation" (namespaced), None for an unnamed route
    pattern: URLPattern

    @property
    def parameters(self) -> dict[str, str]:
        """The route's keyword arguments and their converters' kinds, in order."""
        return {m["name"]: m["kind"] or "str" for m in PARAMETER.finditer(self.route)}

    @property
    def key(self) -> str:
        """How tests name it: its URL name, else its route."""
        return self.name or self.route

    @property
    def callback(self):
        return self.pattern.callback

    def url(self, **values) -> str:
        """The path with `values` for its parameters, a sample for the others."""

        def fill(match: re.Match) -> str:
            return str(values.get(match["name"], SAMPLES[match["kind"] or "str"]))

        return PARAMETER.sub(fill, self.route)

    def __str__(self) -> str:
        return self.route


def _walk(resolver: URLResolver, prefix: str, namespace: str | None):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            route = prefix + str(entry.pattern)
            if not isinstance(entry.pattern, RoutePattern):
                if name in ADMIN_REGEX_ROUTES and route.startswith("admin/"):
                    continue
                raise AssertionError(f"a regular-expression route the walk cannot fill: {route}")
            yield Route(route="/" + route, name=name, pattern=entry)


@cache
def site_routes() -> tuple[Route, ...]:
    """Every route written with path(), in the resolver's order."""
    return tuple(_walk(get_resolver(), "", None))
