"""OpenAPI description of the partner API's authentication (drf-spectacular)."""

import copy

from csp.decorators import csp_update
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "helpdesk.api_auth.ApiKeyAuthentication"
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A partner API key: `Authorization: Bearer lhk_…` (manage.py create_api_key).",
        }


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
# A refused input: `{"detail": "…"}`, or the fields' errors by name (nested as the input is).
INVALID_SCHEMA = {"type": "object", "additionalProperties": {}}


def _error(description: str, schema: str = "Error", **headers: str) -> dict:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    response = {"description": description, "content": content}
    if headers:
        response["headers"] = {
            name: {"schema": {"type": "string"}, "description": text}
            for name, text in headers.items()
        }
    return response


KEY_ERRORS = {
    "401": _error(
        "No key, or a bad, revoked or expired one",
        **{"WWW-Authenticate": "Bearer"},
    ),
    "403": _error("The key does not have this resource's scope"),
    "429": _error("Over the key's rate", **{"Retry-After": "seconds to wait"}),
}
BAD_INPUT = _error('Bad input: `{"field": ["…"]}` or `{"detail": "…"}`', "Invalid")
BODY_ERRORS = {
    "400": BAD_INPUT,
    "413": _error("The body is over DATA_UPLOAD_MAX_MEMORY_SIZE"),
    "415": _error("The body is not JSON (`Content-Type: application/json`)"),
}


def document_common_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: the answers every partner API operation may
    give, written once here rather than on each view — 401, 403 and 429 for the key; 404
    for a path naming nothing (or a bad `cursor`); 400 for a bad parameter; 400, 413 and
    415 for a body. What a view documents itself is kept, its description and the error
    shape (`Error`, or `Invalid` for a 400) filled in."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"], schemas["Invalid"] = ERROR_SCHEMA, INVALID_SCHEMA
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not any("PartnerApiKey" in item for item in operation.get("security", [])):
                continue
            parameters = operation.get("parameters", [])
            common = dict(KEY_ERRORS)
            if any(parameter["in"] == "path" for parameter in parameters):
                common["404"] = _error("No such resource (an unknown or malformed id)")
            if any(parameter["in"] == "query" for parameter in parameters):
                common["400"] = _error("A bad parameter value, named", "Invalid")
            if any(parameter["name"] == "cursor" for parameter in parameters):
                common["404"] = _error("A bad cursor")
            if "requestBody" in operation:
                common.update(BODY_ERRORS)
            responses = operation.setdefault("responses", {})
            for code, response in common.items():
                documented = responses.setdefault(code, copy.deepcopy(response))
                documented.setdefault("content", copy.deepcopy(response["content"]))
    return result


# /api/docs/: Swagger UI on the site's own files. Its page loads the start-up script from
# a URL of its own (the split view), so no inline script runs; the UI sets style
# attributes and draws its icons from data: URLs, which this one page allows
# (docs/security.md, "Content Security Policy").
api_docs = csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema")
)
