"""The OpenAPI document: valid OpenAPI 3.1, served without a token, and true to the routes."""

from __future__ import annotations

import json
import re

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from forms.loader import load_catalog
from server.api import openapi, schemas

PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
CONVERTER = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path below the server URL: ``<int:n>`` → ``{n}``."""
    return CONVERTER.sub(lambda m: "{" + m["name"] + "}", rule.removeprefix(PREFIX))


def api_routes(app) -> dict[tuple[str, str], object]:
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != "api":
            continue
        for method in rule.methods - IGNORED_METHODS:
            routes[(method.lower(), openapi_path(rule.rule))] = rule
    return routes


def documented(document) -> dict[tuple[str, str], dict]:
    return {(method, path): operation
            for path, item in document["paths"].items() for method, operation in item.items()}


def test_served_without_a_token_as_valid_openapi_3_1(client):
    response = client.get(f"{PREFIX}/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": PREFIX}]
    validate(document)  # raises with the offending path when invalid


def test_every_route_is_documented_and_nothing_else(app, client):
    document = client.get(f"{PREFIX}/openapi.json").get_json()

    routes, operations = api_routes(app), documented(document)

    assert sorted(set(routes) - set(operations)) == [], "routes missing from the document"
    assert sorted(set(operations) - set(routes)) == [], "documented but not routed"


def test_path_parameters_match_the_route_converters(app, client):
    document = client.get(f"{PREFIX}/openapi.json").get_json()
    parameters = document["components"]["parameters"]

    for (method, path), rule in api_routes(app).items():
        operation = document["paths"][path][method]
        declared = {}
        for reference in operation["parameters"]:
            parameter = parameters[reference["$ref"].rsplit("/", 1)[-1]]
            if parameter["in"] == "path":
                declared[parameter["name"]] = parameter["schema"]["type"]
        converters = {name: type(conv).__name__ for name, conv in rule._converters.items()}
        assert set(declared) == set(converters), (method, path)
        for name, converter in converters.items():
            expected = "integer" if converter == "IntegerConverter" else "string"
            assert declared[name] == expected, (method, path, name)


def test_only_the_document_itself_is_public(client):
    document = client.get(f"{PREFIX}/openapi.json").get_json()

    public = {(m, p) for (m, p), op in documented(document).items() if op.get("security") == []}

    assert public == {("get", "/openapi.json")}
    assert document["security"] == [{"bearer": []}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for (_method, _path), operation in documented(document).items():
        if operation.get("security") != []:
            assert "401" in operation["responses"]


def test_every_documented_operation_really_asks_for_a_token(client):
    """Called without a token, each protected operation answers the documented 401."""
    document = client.get(f"{PREFIX}/openapi.json").get_json()

    for (method, path), operation in documented(document).items():
        if operation.get("security") == []:
            continue
        numbered = (path.replace("{n}", "1").replace("{notification_id}", "1")
                    .replace("{job_id}", "1"))
        concrete = re.sub(r"\{\w+\}", "x", numbered)
        response = client.open(PREFIX + concrete, method=method.upper())
        assert response.status_code == 401, (method, path)
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_definition_schema_accepts_every_catalogue_template(client):
    """``definition`` in template answers is documented by the definition's own schema."""
    document = client.get(f"{PREFIX}/openapi.json").get_json()
    schema = {"$ref": "#/components/schemas/Definition", "components": document["components"]}
    validator = Draft202012Validator(schema)

    for definition in load_catalog():
        served = json.loads(definition.to_json())  # what /templates/{key} answers
        assert list(validator.iter_errors(served)) == [], definition.key
        broken = {**served, "schedule": {"frequency": "weekly"}}
        assert list(validator.iter_errors(broken)), definition.key


def test_the_title_names_a_package_a_client_generator_can_make(client):
    """Generators name the client package after the title: it must be plain ASCII words."""
    info = client.get(f"{PREFIX}/openapi.json").get_json()["info"]

    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9 ]*", info["title"]), info["title"]
    assert "填报" in info["description"]


def test_the_schemas_are_those_of_the_models_the_answers_are_built_from(client):
    document = client.get(f"{PREFIX}/openapi.json").get_json()
    components = document["components"]["schemas"]

    for operation in documented(document).values():
        success = next(code for code in operation["responses"] if code.startswith("2"))
        content = operation["responses"][success]["content"]
        if "application/json" in content:
            name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            assert components[name] == openapi.component_schemas([getattr(schemas, name)])[name]
    # Each model and enum under its own class name (no module-qualified fallback names).
    assert all(re.fullmatch(r"[A-Z][A-Za-z]*", name) for name in components), sorted(components)


def test_every_list_says_what_its_items_are(client):
    """A page's items, a report's issues, a history's revisions: each names its item schema."""
    components = client.get(f"{PREFIX}/openapi.json").get_json()["components"]["schemas"]

    arrays = [(name, key, member) for name, schema in components.items()
              for key, member in schema.get("properties", {}).items()
              if member.get("type") == "array"]

    assert arrays
    for name, key, member in arrays:
        assert member.get("items"), (name, key)
    for page in ("UnitPage", "TaskPage", "TemplatePage"):
        items = components[page]["properties"]["items"]["items"]
        assert items == {"$ref": f"#/components/schemas/{page.removesuffix('Page')}"}
