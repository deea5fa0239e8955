#!/usr/bin/env python3
"""Writes the YAML fixtures of YAMLTests (Tests/KeywayCoreTests/YAMLTests.swift) and their expected values.

    /usr/bin/python3 generate.py pyyaml      # pyyaml-*.yaml, with Debian's python3-yaml (PyYAML 6)
    VENV/bin/python generate.py ruamel       # ruamel-*.yaml, in a throwaway venv: pip install ruamel.yaml
    /usr/bin/python3 generate.py expected    # NAME.json for every NAME.yaml here (also the hand-written go-*.yaml)

The expected value of a file is what PyYAML's own loader reads from it, with every scalar kept as the string
written (only null and the merge key `<<` are resolved), which is how Keyway reads YAML: so each fixture checks
Keyway's reader against an independent one. The outputs are committed; run this again only to change them.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

FLUX = {
    "profiles": {
        "default": {"api_key": "flux_dev_abc123def456ghi789jkl012mno34", "account": "john@example.com",
                    "expires": "2024-04-15"},
        "production": {"api_key": "flux_prod_xyz789uvw456rst123opq890lmn", "account": "john@example.com",
                       "expires": "2024-06-01", "scopes": ["read_scenarios", "upload_results"]},
    }
}

AWKWARD = {
    "profiles": {
        "default": {
            "api_key": "flux_dev_k3y",
            # Scalars that look like other types, kept as written.
            "version": 1, "ratio": 1.5, "enabled": True, "off": False, "nothing": None, "octal": "007",
            "yes_word": "yes", "on_word": "on", "date": "2024-04-15", "empty": "",
            # Scalars that need quoting.
            "colon": "a: b", "hash": "#not a comment", "dash": "- not an item", "quotes": "it's \"quoted\"",
            "commas": ["read,write", "a, b", "[x]", "{y}"],
            "spaces": "  leading and trailing  ",
            # Escapes: control characters, non-ASCII, an astral character.
            "escapes": "tab\there\x01bell\x07 \u00e9 \u2603 \U0001F680",
            "newlines": "line one\nline two\n",
            "long": "a long note that PyYAML wraps over several lines as a multi-line plain scalar " * 3,
        }
    }
}

SHARED_SCOPES = ["read", "write"]
ANCHORED = {"profiles": {"a": {"api_key": "flux_dev_a", "scopes": SHARED_SCOPES},
                         "b": {"api_key": "flux_dev_b", "scopes": SHARED_SCOPES}}}

ITEMS = {"profiles": {"default": {"api_key": "flux_dev_items"}},
         "projects": [{"name": "customer-support-bot", "role": "owner"}, {"name": "sales-assistant", "role": "member"}]}


def write(name, text):
    with open(os.path.join(HERE, name), "w", newline="") as f:
        f.write(text)


def pyyaml():
    import yaml

    class Literal(yaml.SafeDumper):
        pass

    def literal(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Literal.add_representer(str, literal)

    class Folded(yaml.SafeDumper):
        pass

    Folded.add_representer(
        str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style=">" if len(v) > 40 else None))

    d = dict(sort_keys=False)
    write("pyyaml-block.yaml", yaml.safe_dump(FLUX, default_flow_style=False, **d))
    write("pyyaml-empty-profiles.yaml", yaml.safe_dump({"profiles": {}}, **d))
    write("pyyaml-flow-leaves.yaml", yaml.safe_dump(FLUX, default_flow_style=None, **d))
    write("pyyaml-flow.yaml", yaml.safe_dump(FLUX, default_flow_style=True, **d))
    write("pyyaml-awkward.yaml", yaml.safe_dump(AWKWARD, **d))
    write("pyyaml-awkward-flow.yaml", yaml.safe_dump(AWKWARD, default_flow_style=None, **d))
    write("pyyaml-awkward-unicode.yaml", yaml.safe_dump(AWKWARD, allow_unicode=True, width=40, **d))
    write("pyyaml-literal.yaml", yaml.dump(AWKWARD, Dumper=Literal, **d))
    write("pyyaml-folded.yaml", yaml.dump(AWKWARD, Dumper=Folded, **d))
    write("pyyaml-anchors.yaml", yaml.safe_dump(ANCHORED, **d))
    write("pyyaml-items.yaml", yaml.safe_dump(ITEMS, **d))
    write("pyyaml-explicit.yaml", yaml.safe_dump(FLUX, explicit_start=True, explicit_end=True, indent=4, **d))
    write("pyyaml-crlf.yaml", yaml.safe_dump(FLUX, line_break="\r\n", **d))
    write("pyyaml-canonical.yaml", yaml.safe_dump(AWKWARD, canonical=True, **d))
    write("pyyaml-double-quoted.yaml", yaml.safe_dump(AWKWARD, default_style='"', **d))
    write("pyyaml-single-quoted.yaml", yaml.safe_dump(FLUX, default_style="'", **d))


def ruamel():
    import io
    from ruamel.yaml import YAML

    def dump(name, data, setup=lambda y: None, typ="rt"):
        y = YAML(typ=typ)
        setup(y)
        out = io.StringIO()
        y.dump(data, out)
        write(name, out.getvalue())

    dump("ruamel-block.yaml", FLUX)
    dump("ruamel-indented.yaml", FLUX, lambda y: y.indent(mapping=4, sequence=6, offset=4))
    dump("ruamel-awkward.yaml", AWKWARD)
    dump("ruamel-safe.yaml", AWKWARD, typ="safe")
    dump("ruamel-items.yaml", ITEMS, lambda y: y.indent(mapping=2, sequence=4, offset=2))
    dump("ruamel-anchors.yaml", ANCHORED)
    dump("ruamel-empty-profiles.yaml", {"profiles": {}})

    def version(y):
        y.version = (1, 2)
        y.explicit_start = True
    dump("ruamel-version-directive.yaml", FLUX, version)

    # A round trip keeps comments, anchors and merge keys as the user wrote them.
    source = (
        "# FluxLoop credentials, edited by hand\n"
        "defaults: &defaults\n"
        "  account: john@example.com   # shared\n"
        "  expires: '2024-06-01'\n"
        "profiles:\n"
        "  default:\n"
        "    <<: *defaults\n"
        "    api_key: flux_dev_merge1\n"
        "  production:\n"
        "    <<: [*defaults, {scopes: [read]}]\n"
        "    api_key: flux_prod_merge2\n"
        "    expires: '2025-01-01'\n"
    )
    y = YAML()
    data = y.load(source)
    data["profiles"]["default"]["api_key"] = "flux_dev_rotated"
    out = io.StringIO()
    y.dump(data, out)
    write("ruamel-round-trip-merge.yaml", out.getvalue())


def expected():
    import yaml

    class Strings(yaml.SafeLoader):
        """Every scalar a string, as written; only null and << resolved."""

    Strings.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers
                if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:merge")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for tag in ("int", "float", "bool", "timestamp"):
        Strings.add_constructor("tag:yaml.org,2002:" + tag, lambda loader, node: loader.construct_scalar(node))

    for name in sorted(os.listdir(HERE)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(HERE, name), "rb") as f:
            value = yaml.load(f.read(), Loader=Strings)
        with open(os.path.join(HERE, name[:-5] + ".json"), "w") as f:
            json.dump(value, f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    {"pyyaml": pyyaml, "ruamel": ruamel, "expected": expected}[sys.argv[1]]()
